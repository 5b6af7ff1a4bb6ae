/**
 * The linter's own configuration file (`--config FILE`, YAML): which optional checks run and
 * at which severity, and their parameters. Checks that mirror promtool's (a file promtool
 * rejects) are always on and always errors; the others default to `warning`.
 *
 * ```yaml
 * checks:
 *   promql/rate-counter: error        # a severity, or off
 *   alerts/for: off
 *   rules/required-labels: { severity: warning, labels: { severity: [critical, warning, info] } }  # default: any value
 *   rules/required-annotations: { annotations: [summary] }
 *   promql/rate-range: { scrape_interval: 30s, multiplier: 4 }
 *   promql/aggregation-drops-label: { routing_labels: [team], alertmanager_config: alertmanager.yml }
 * ```
 */
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { parseDuration } from './duration.js'
import type { Severity } from './problem.js'

/** Checks a config may tune, with their defaults. */
export const OPTIONAL_CHECKS = {
  'rules/duplicate': 'the same rule (name and labels) twice in one file; promtool warns about it too',
  'promql/rate-counter': 'rate/irate/increase/resets over a metric that is not a counter: by its metadata when `--url` gives it, else by its name (_total, _count, _sum, _bucket)',
  'promql/rate-range': 'a rate/irate/increase range shorter than multiplier x scrape_interval (default 2 x 1m)',
  'alerts/for': 'an alerting rule without `for` whose condition compares single samples (a selector, irate): it fires on one sample and resolves on the next; `for: 0s` written says it is meant',
  'promql/regexp': 'a regex matcher on `__name__`, with needless `^`/`$` anchors, `.*` that matches everything, or no regex in it at all',
  'rules/required-labels': 'an alert without a required label, or with a value outside the allowed set (default: a severity label, any value)',
  'rules/required-annotations': 'an alert without a required annotation (default: summary)',
  'alerts/never-fires': 'an alert condition that compares against a constant it can never match (absent(x) > 1, count(x) < 0, x > +Inf)',
  'template/unknown-label': "a label or annotation template refers to a label the query's result cannot have",
  'promql/aggregation-drops-label': 'an aggregation in the query removes a label that a template or label of the alert uses, or that Alertmanager routes on (routing_labels, or read from alertmanager_config)',
} as const
export type OptionalCheck = keyof typeof OPTIONAL_CHECKS

export interface LintConfig {
  severity: Record<OptionalCheck, Severity | 'off'>
  requiredLabels: Record<string, string[] | null>
  requiredAnnotations: string[]
  scrapeIntervalMs: number
  rateRangeMultiplier: number
  /** Labels Alertmanager routes and groups by: an alert's aggregation must keep them. */
  routingLabels: string[]
  /** Metric family -> type from stored metadata (`rules lint --url`); empty offline. */
  metricTypes: ReadonlyMap<string, string>
}

export function defaultLintConfig(): LintConfig {
  const severity = Object.fromEntries(Object.keys(OPTIONAL_CHECKS).map((k) => [k, 'warning'])) as Record<OptionalCheck, Severity>
  return {
    severity,
    // Any severity value: Alertmanager routing trees use their own (page, ticket, ...); a config narrows it.
    requiredLabels: { severity: null },
    requiredAnnotations: ['summary'],
    scrapeIntervalMs: 60_000,
    // Two scrapes: the fewest rate() can work with; one missed scrape leaves it empty.
    rateRangeMultiplier: 2,
    routingLabels: [],
    metricTypes: new Map(),
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
      } else if (check === 'promql/aggregation-drops-label' && k === 'routing_labels') {
        if (!Array.isArray(v)) bad(`check "${name}": routing_labels must be a list of label names`)
        config.routingLabels = [...new Set([...config.routingLabels, ...(v as unknown[]).map(String)])]
      } else if (check === 'promql/aggregation-drops-label' && k === 'alertmanager_config') {
        config.routingLabels = [...new Set([...config.routingLabels, ...alertmanagerRoutingLabels(String(v), bad)])]
      } else {
        bad(`check "${name}": unknown setting "${k}"`)
      }
    }
  }
  return config
}

/**
 * The label names an Alertmanager configuration routes on: every route's `group_by` (but `...`)
 * and the names in its `matchers`, `match` and `match_re`, recursively.
 */
export function alertmanagerRoutingLabels(file: string, bad: (msg: string) => never): string[] {
  let raw: unknown
  try {
    raw = parseYaml(readFileSync(file, 'utf8'))
  } catch (err) {
    return bad(`alertmanager_config ${file}: ${(err as Error).message.split('\n')[0]}`)
  }
  const names = new Set<string>()
  const visit = (route: unknown, depth: number) => {
    if (typeof route !== 'object' || route === null || depth > 100) return
    const r = route as Record<string, unknown>
    for (const g of Array.isArray(r.group_by) ? r.group_by : []) if (typeof g === 'string' && g !== '...') names.add(g)
    for (const m of Array.isArray(r.matchers) ? r.matchers : []) {
      const name = /^\s*"?([a-zA-Z_][a-zA-Z0-9_]*)"?\s*(=~|!~|!=|=)/.exec(String(m))
      if (name) names.add(name[1]!)
    }
    for (const key of ['match', 'match_re']) if (typeof r[key] === 'object' && r[key] !== null) for (const k of Object.keys(r[key] as object)) names.add(k)
    for (const child of Array.isArray(r.routes) ? r.routes : []) visit(child, depth + 1)
  }
  visit((raw as { route?: unknown } | null)?.route, 0)
  names.delete('alertname')
  return [...names].sort()
}
