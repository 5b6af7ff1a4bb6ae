/**
 * Rule files -> rule groups for the ruler. The files go through the linter first: a file with
 * an error (anything promtool would reject, or a rule that could never evaluate) is refused
 * whole, and the ruler keeps the rules it had.
 */
import { expandInputs, lintLoaded } from '../rules-compiler/lint.js'
import { defaultLintConfig } from '../rules-compiler/lint-config.js'
import type { Problem } from '../rules-compiler/problem.js'
import { loadRuleFile, type RuleGroupDefinition } from '../rules-compiler/rule-file.js'
import { AlertingRule } from './alerting-rule.js'
import { RecordingRule } from './recording-rule.js'
import type { GroupSpec } from './group.js'

export class RuleLoadError extends Error {
  override readonly name = 'RuleLoadError'
  constructor(readonly problems: readonly Problem[]) {
    super(
      problems
        .slice(0, 5)
        .map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`)
        .join('; ') + (problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''),
    )
  }
}

/** The checked groups of the rule files (the expensive half: YAML, schema, lint); throws RuleLoadError. */
export function loadRuleDefinitions(inputs: readonly string[]): RuleGroupDefinition[] {
  let files: string[]
  try {
    files = expandInputs(inputs)
  } catch (err) {
    throw new RuleLoadError([{ file: '', line: 1, column: 1, check: 'io', severity: 'error', message: (err as Error).message }])
  }
  const config = defaultLintConfig()
  const groups: RuleGroupDefinition[] = []
  const errors: Problem[] = []
  for (const file of files) {
    const loaded = loadRuleFile(file)
    const problems = lintLoaded(loaded, config).filter((p) => p.severity === 'error')
    if (problems.length > 0) errors.push(...problems)
    else groups.push(...loaded.groups)
  }
  if (errors.length > 0) throw new RuleLoadError(errors)
  return groups
}

/** Fresh rule objects (no alert state) for checked groups. */
export function groupSpecs(definitions: readonly RuleGroupDefinition[], defaultIntervalMs: number): GroupSpec[] {
  return definitions.map((g) => toSpec(g, defaultIntervalMs))
}

function toSpec(g: RuleGroupDefinition, defaultIntervalMs: number): GroupSpec {
  // A PrometheusRule manifest's groups are named per resource, as the operator does, so two
  // resources may use the same group name.
  const file = g.source.kind === 'PrometheusRule' ? `${g.file}#${g.source.resource ?? g.source.document}` : g.file
  return {
    name: g.name.value,
    file,
    intervalMs: g.intervalMs || defaultIntervalMs,
    queryOffsetMs: g.queryOffsetMs ?? 0,
    limit: g.limit,
    rules: g.rules.map((r) => {
      const labels = Object.fromEntries([...r.labels].map(([k, v]) => [k, v.value]))
      if (r.kind === 'record') return new RecordingRule({ name: r.name.value, expr: r.expr.value, labels })
      return new AlertingRule({
        name: r.name.value,
        expr: r.expr.value,
        forMs: r.forMs,
        keepFiringForMs: r.keepFiringForMs,
        labels,
        annotations: Object.fromEntries([...r.annotations].map(([k, v]) => [k, v.value])),
      })
    }),
  }
}
