/**
 * The linter's own configuration file (`--config FILE`, YAML): which optional checks run and
 * at which severity, and their parameters. Checks that mirror promtool's (a file promtool
 * rejects) are always on and always errors; the others default to `warning`.
 *
 * ```yaml
 * checks:
 *   promql/rate-counter: error        # a severity, or off
 *   alerts/for: off
 *   rules/required-labels: { severity: warning, labels: { severity: [critical, warning, info] } }
 *   rules/required-annotations: { annotations: [summary] }
 *   promql/rate-range: { scrape_interval: 30s, multiplier: 4 }
 * ```
 */
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { parseDuration } from './duration.js'
import type { Severity } from './problem.js'

/** Checks a config may tune, with their defaults. */
export const OPTIONAL_CHECKS = {
  'rules/duplicate': 'the same rule (name and labels) twice in one file; promtool warns about it too',
  'promql/rate-counter': 'rate/irate/increase/resets over a metric whose name does not say counter (_total, _count, _sum, _bucket)',
  'promql/rate-range': 'a rate/irate/increase range shorter than multiplier x scrape_interval (default 4 x 1m)',
  'alerts/for': 'an alerting rule without `for`: it fires on the first evaluation, on one bad sample',
  'rules/required-labels': 'an alert without a required label, or with a value outside the allowed set (default: severity in critical, warning, info)',
  'rules/required-annotations': 'an alert without a required annotation (default: summary)',
  'alerts/never-fires': 'an alert condition that compares against a constant it can never match (absent(x) > 1, count(x) < 0, x > +Inf)',
  'template/unknown-label': "a label or annotation template refers to a label the query's result cannot have",
  'promql/aggregation-drops-label': 'an aggregation in the query removes a label that a template or label of the alert uses',
} as const
export type OptionalCheck = keyof typeof OPTIONAL_CHECKS

export interface LintConfig {
  severity: Record<OptionalCheck, Severity | 'off'>
  requiredLabels: Record<string, string[] | null>
  requiredAnnotations: string[]
  scrapeIntervalMs: number
  rateRangeMultiplier: number
}

export function defaultLintConfig(): LintConfig {
  const severity = Object.fromEntries(Object.keys(OPTIONAL_CHECKS).map((k) => [k, 'warning'])) as Record<OptionalCheck, Severity>
  return {
    severity,
    requiredLabels: { severity: ['critical', 'warning', 'info'] },
    requiredAnnotations: ['summary'],
    scrapeIntervalMs: 60_000,
    rateRangeMultiplier: 4,
  }
}

export class LintConfigError extends Error {
  override readonly name = 'LintConfigError'
}

const SEVERITIES = new Set(['error', 'warning', 'info', 'off'])

export function loadLintConfig(file: string): LintConfig {
  let raw: unknown
  try {
    raw = parseYaml(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new LintConfigError(`${file}: ${(err as Error).message.split('\n')[0]}`)
  }
  return parseLintConfig(raw, file)
}

export function parseLintConfig(raw: unknown, file = 'config'): LintConfig {
  const config = defaultLintConfig()
  if (raw === null || raw === undefined) return config
  const bad = (msg: string): never => {
    throw new LintConfigError(`${file}: ${msg}`)
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) bad('expected a mapping with a "checks" key')
  for (const key of Object.keys(raw as object)) if (key !== 'checks') bad(`unknown key "${key}"`)
  const checks = (raw as { checks?: unknown }).checks ?? {}
  if (typeof checks !== 'object' || checks === null || Array.isArray(checks)) bad('"checks" must be a mapping of check name to settings')
  for (const [name, value] of Object.entries(checks as Record<string, unknown>)) {
    if (!(name in OPTIONAL_CHECKS)) bad(`unknown check "${name}" (known: ${Object.keys(OPTIONAL_CHECKS).join(', ')})`)
    const check = name as OptionalCheck
    const settings: Record<string, unknown> = typeof value === 'string' || value === false ? { severity: value === false ? 'off' : value } : ((value ?? {}) as Record<string, unknown>)
    if (typeof settings !== 'object') bad(`check "${name}": expected a severity or a mapping`)
    for (const [k, v] of Object.entries(settings)) {
      if (k === 'severity') {
        if (typeof v !== 'string' || !SEVERITIES.has(v)) bad(`check "${name}": severity must be error, warning, info or off`)
        config.severity[check] = v as Severity | 'off'
      } else if (check === 'rules/required-labels' && k === 'labels') {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(`check "${name}": labels must map a label name to its allowed values (or null for any)`)
        config.requiredLabels = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([l, allowed]) => [l, allowed === null ? null : (allowed as unknown[]).map(String)]))
      } else if (check === 'rules/required-annotations' && k === 'annotations') {
        if (!Array.isArray(v)) bad(`check "${name}": annotations must be a list of names`)
        config.requiredAnnotations = (v as unknown[]).map(String)
      } else if (check === 'promql/rate-range' && k === 'scrape_interval') {
        try {
          config.scrapeIntervalMs = parseDuration(String(v))
        } catch (err) {
          bad(`check "${name}": scrape_interval: ${(err as Error).message}`)
        }
      } else if (check === 'promql/rate-range' && k === 'multiplier') {
        if (typeof v !== 'number' || v <= 0) bad(`check "${name}": multiplier must be a positive number`)
        config.rateRangeMultiplier = v as number
      } else {
        bad(`check "${name}": unknown setting "${k}"`)
      }
    }
  }
  return config
}
