/**
 * The checks on one parsed rule, beyond structure: PromQL syntax and type, template parsing and
 * trial execution, and the pint-like checks of lint-config.ts. Each returns findings without
 * file names; lint.ts adds where and filters by configuration and disable comments.
 */
import { formatDuration } from './duration.js'
import type { LintConfig, OptionalCheck } from './lint-config.js'
import { canCarry, outputLabels } from './output-labels.js'
import type { Severity, SourcePos } from './problem.js'
import { children, parseRuleExpr, typeOf, walk, type Expr } from './promql.js'
import type { LocatedText, RuleDefinition } from './rule-file.js'
import { AlertTemplate, TemplateExecError, TemplateParseError } from '../template/expand.js'

export interface Finding {
  check: string
  severity: Severity
  pos: SourcePos
  message: string
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const COUNTER_NAME = /(_total|_count|_sum|_bucket)$/
const RATE_FUNCS = new Set(['rate', 'irate', 'increase', 'resets'])
const COMPARISONS = new Set(['==', '!=', '>', '<', '>=', '<='])
/** Functions whose result is never negative (rate of a counter: resets are compensated). */
const NON_NEGATIVE_FUNCS = new Set(['count_over_time', 'changes', 'resets', 'rate', 'irate', 'increase', 'abs', 'sqrt', 'exp'])
/** Metadata types whose samples only grow (histogram and summary: their _count, _sum, _bucket). */
const COUNTER_TYPES = new Set(['counter', 'histogram', 'summary', 'gaugehistogram'])
/** Range functions whose result smooths over the window: an alert on them does not flap per sample. */
const SMOOTHING_FUNCS = new Set(['rate', 'increase', 'delta', 'deriv', 'predict_linear', 'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'quantile_over_time', 'last_over_time', 'present_over_time', 'absent_over_time', 'stddev_over_time', 'stdvar_over_time', 'changes', 'resets', 'mad_over_time'])
/** Regex metacharacters: a `=~` value without any is a plain equality. */
const REGEX_META = /[.*+?()[\]{}|^$\\]/

export function checkRule(rule: RuleDefinition, config: LintConfig): Finding[] {
  const out: Finding[] = []
  const add = (check: string, severity: Severity | 'off', pos: SourcePos, message: string) => {
    if (severity !== 'off') out.push({ check, severity, pos, message })
  }
  const opt = (check: OptionalCheck, pos: SourcePos, message: string) => add(check, config.severity[check], pos, message)

  if (rule.kind === 'record') {
    if (rule.name.value !== '' && !METRIC_NAME.test(rule.name.value)) add('record/name', 'error', rule.name.pos, `invalid recording rule name: ${rule.name.value}`)
    if (rule.annotations.size > 0) add('schema', 'error', rule.pos, `invalid field 'annotations' in recording rule`)
    if (rule.forMs !== 0) add('schema', 'error', rule.pos, `invalid field 'for' in recording rule`)
    if (rule.keepFiringForMs !== 0) add('schema', 'error', rule.pos, `invalid field 'keep_firing_for' in recording rule`)
  }
  for (const [name, value] of rule.labels) {
    if (name === '__name__') add('schema', 'error', value.pos, `invalid label name: ${name}`)
  }

  let expr: Expr | undefined
  if (rule.expr.value !== '') {
    const parsed = parseRuleExpr(rule.expr.value)
    if (parsed.ok) expr = parsed.expr
    else add('promql/syntax', 'error', rule.expr.at(parsed.offset), `could not parse expression: ${parsed.message}`)
  }
  if (expr !== undefined) {
    const t = typeOf(expr)
    // promtool accepts these; evaluation then fails every time ("rule result is not a vector or scalar").
    if (t === 'matrix' || t === 'string')
      add('promql/result-type', 'error', rule.expr.pos, `expression returns a ${t === 'matrix' ? 'range vector' : 'string'}; a rule needs an instant vector or a scalar, evaluation would fail every time`)
    checkRates(expr, rule, config, opt)
    checkRegexMatchers(expr, rule, opt)
  }

  if (rule.kind === 'alert') {
    const templates: [string, string, LocatedText][] = [
      ...[...rule.labels].map(([k, v]) => ['label', k, v] as [string, string, LocatedText]),
      ...[...rule.annotations].map(([k, v]) => ['annotation', k, v] as [string, string, LocatedText]),
    ]
    const labels = expr ? outputLabels(expr) : undefined
    for (const [what, key, text] of templates) {
      let tpl: AlertTemplate
      try {
        tpl = AlertTemplate.parse(text.value)
      } catch (err) {
        if (!(err instanceof TemplateParseError)) throw err
        add('template/syntax', 'error', text.at(err.offset), `${what} "${key}": template: ${err.message}`)
        continue
      }
      try {
        // One made-up sample, as any evaluation could produce: value 0, the labels asked for empty.
        tpl.expand({ labels: {}, externalLabels: {}, externalURL: 'http://localhost:9090', value: 0 }, () => [])
      } catch (err) {
        if (!(err instanceof TemplateExecError)) throw err
        if (!/error calling (first|value|label|strvalue|index)/.test(err.message))
          add('template/exec', 'error', text.pos, `${what} "${key}": template fails when executed: ${err.message}`)
      }
      if (labels) {
        for (const name of referencedLabels(text.value)) {
          const can = canCarry(labels, name)
          if (can.ok) continue
          const by = can.droppedBy
          if (by && by.type === 'AggregateExpr') opt('promql/aggregation-drops-label', text.pos, `${what} "${key}" uses label "${name}", but the aggregation \`${describe(rule.expr.value, by)}\` removes it`)
          else opt('template/unknown-label', text.pos, `${what} "${key}" uses label "${name}", which the query's result cannot have${by ? ` (\`${describe(rule.expr.value, by)}\` removes it)` : ''}`)
        }
      }
    }
    const flappy = expr && !rule.forWritten ? flappyPart(expr) : undefined
    if (flappy) opt('alerts/for', rule.name.pos, `alert "${rule.name.value}" has no "for" and \`${describe(rule.expr.value, flappy)}\` reads single samples: one sample over the threshold fires it and the next resolves it (write \`for: 0s\` if that is meant)`)
    if (expr) checkRoutingLabels(expr, rule, config, opt)
    for (const [label, allowed] of Object.entries(config.requiredLabels)) {
      const v = rule.labels.get(label)
      if (v === undefined) opt('rules/required-labels', rule.name.pos, `alert "${rule.name.value}" has no "${label}" label${allowed ? ` (one of ${allowed.join(', ')})` : ''}`)
      else if (allowed && !v.value.includes('{{') && !allowed.includes(v.value)) opt('rules/required-labels', v.pos, `label "${label}" is "${v.value}", not one of ${allowed.join(', ')}`)
    }
    for (const a of config.requiredAnnotations) {
      if (!rule.annotations.has(a)) opt('rules/required-annotations', rule.name.pos, `alert "${rule.name.value}" has no "${a}" annotation`)
    }
    if (expr) {
      const never = neverFires(expr)
      if (never) opt('alerts/never-fires', rule.expr.at(never.pos), `alert "${rule.name.value}" can never fire: ${never.why}`)
    }
  }
  return out
}

function checkRates(expr: Expr, rule: RuleDefinition, config: LintConfig, opt: (c: OptionalCheck, p: SourcePos, m: string) => void): void {
  for (const node of walk(expr)) {
    if (node.type !== 'Call' || !RATE_FUNCS.has(node.func)) continue
    const arg = node.args[0]
    if (arg?.type !== 'MatrixSelector') continue
    const name = arg.selector.name
    const type = name === undefined ? undefined : config.metricTypes.get(metadataName(name))
    if (name !== undefined && type !== undefined) {
      if (!COUNTER_TYPES.has(type)) opt('promql/rate-counter', rule.expr.at(node.pos.start), `${node.func}() on "${name}", which its metadata says is a ${type}, not a counter`)
    } else if (name !== undefined && !COUNTER_NAME.test(name) && !name.includes(':')) {
      opt('promql/rate-counter', rule.expr.at(node.pos.start), `${node.func}() on "${name}", which by its name is not a counter (counters end in _total, _count, _sum or _bucket)`)
    }
    const min = config.scrapeIntervalMs * config.rateRangeMultiplier
    if (node.func !== 'resets' && arg.range < min)
      opt('promql/rate-range', rule.expr.at(arg.pos.start), `${node.func}() over [${formatDuration(arg.range)}] is shorter than ${config.rateRangeMultiplier} x the scrape interval (${formatDuration(min)}): a missed scrape leaves it with fewer than two samples`)
  }
}

/** Labels a template reads: `$labels.x`, `.Labels.x`, `index $labels "x"`. */
export function referencedLabels(text: string): Set<string> {
  const names = new Set<string>()
  for (const m of text.matchAll(/(?:\$labels|\.Labels)\.([a-zA-Z_][a-zA-Z0-9_]*)/g)) names.add(m[1]!)
  for (const m of text.matchAll(/index\s+(?:\$labels|\.Labels)\s+"([a-zA-Z_][a-zA-Z0-9_]*)"/g)) names.add(m[1]!)
  return names
}

function describe(src: string, node: Expr): string {
  const text = src.slice(node.pos.start, node.pos.end).replace(/\s+/g, ' ')
  return text.length > 60 ? text.slice(0, 57) + '...' : text
}

/** A range [lo, hi] the expression's values certainly lie in, when the syntax tells. */
function valueRange(e: Expr): [number, number] | undefined {
  switch (e.type) {
    case 'ParenExpr':
      return valueRange(e.expr)
    case 'NumberLiteral':
      return [e.value, e.value]
    case 'Call':
      if (e.func === 'absent' || e.func === 'absent_over_time') return [1, 1]
      if (e.func === 'present_over_time') return [1, 1]
      if (NON_NEGATIVE_FUNCS.has(e.func)) return [0, Infinity]
      return undefined
    case 'AggregateExpr':
      if (e.op === 'count') return [1, Infinity]
      if (e.op === 'group') return [1, 1]
      return undefined
    case 'VectorSelector':
      return e.name === 'up' ? [0, 1] : undefined
    case 'BinaryExpr':
      return e.returnBool ? [0, 1] : undefined
    default:
      return undefined
  }
}

function neverFires(expr: Expr): { why: string; pos: number } | undefined {
  let e = expr
  while (e.type === 'ParenExpr') e = e.expr
  if (e.type !== 'BinaryExpr') return undefined
  if (e.op === 'and') return neverFires(e.lhs) ?? neverFires(e.rhs)
  if (e.op === 'or') {
    const l = neverFires(e.lhs)
    const r = neverFires(e.rhs)
    return l && r ? l : undefined
  }
  if (e.op === 'unless') return neverFires(e.lhs)
  if (!COMPARISONS.has(e.op) || e.returnBool) return undefined
  const c = constantOf(e.rhs)
  if (c === undefined) return undefined
  if (Number.isNaN(c)) return e.op === '!=' ? undefined : { why: 'NaN compares false with everything', pos: e.rhs.pos.start }
  if ((c === Infinity && e.op === '>') || (c === -Infinity && e.op === '<')) return { why: `nothing is ${e.op} ${c > 0 ? '+Inf' : '-Inf'}`, pos: e.rhs.pos.start }
  const lhs = valueRange(e.lhs)
  if (lhs === undefined) return undefined
  const [lo, hi] = lhs
  const impossible =
    (e.op === '>' && hi <= c) || (e.op === '>=' && hi < c) || (e.op === '<' && lo >= c) || (e.op === '<=' && lo > c) || (e.op === '==' && (c < lo || c > hi))
  if (!impossible) return undefined
  return { why: `the left side is always ${lo === hi ? lo : `between ${lo} and ${hi}`}, so "${e.op} ${c}" never holds`, pos: e.rhs.pos.start }
}

function constantOf(e: Expr): number | undefined {
  if (e.type === 'NumberLiteral') return e.value
  if (e.type === 'ParenExpr') return constantOf(e.expr)
  if (e.type === 'UnaryExpr') {
    const v = constantOf(e.expr)
    return v === undefined ? undefined : e.op === '-' ? -v : v
  }
  return undefined
}

/** Metadata is kept per metric family: `x_bucket`, `x_count`, `x_sum` belong to `x`. */
function metadataName(name: string): string {
  return name.replace(/_(bucket|count|sum)$/, '')
}

/**
 * The part of an alert condition that flips with a single sample: a threshold comparison on an
 * instant selector or on irate/idelta (two samples), outside any smoothing range function.
 */
function flappyPart(expr: Expr): Expr | undefined {
  for (const node of walk(expr)) {
    if (node.type !== 'BinaryExpr' || !COMPARISONS.has(node.op) || node.returnBool) continue
    for (const side of [node.lhs, node.rhs]) {
      const raw = rawRead(side)
      if (raw) return raw
    }
  }
  return undefined
}

function rawRead(e: Expr): Expr | undefined {
  if (e.type === 'VectorSelector') return e
  if (e.type === 'Call') {
    if (e.func === 'irate' || e.func === 'idelta') return e
    if (SMOOTHING_FUNCS.has(e.func) || e.func === 'absent' || e.func === 'time' || e.func === 'vector') return undefined
  }
  if (e.type === 'SubqueryExpr' || e.type === 'MatrixSelector') return undefined
  for (const c of children(e)) {
    const r = rawRead(c)
    if (r) return r
  }
  return undefined
}

/** pint's regexp checks: a regex on the metric name, anchors Prometheus adds anyway, `=~` with no regex in it, `.*` that matches all. */
function checkRegexMatchers(expr: Expr, rule: RuleDefinition, opt: (c: OptionalCheck, p: SourcePos, m: string) => void): void {
  for (const node of walk(expr)) {
    if (node.type !== 'VectorSelector') continue
    const at = rule.expr.at(node.pos.start)
    for (const m of node.matchers) {
      if (m.type !== '=~' && m.type !== '!~') continue
      const shown = `${m.name}${m.type}${JSON.stringify(m.value)}`
      if (m.name === '__name__')
        opt('promql/regexp', at, `${shown} picks metrics by a regex on their name: every name is compared, and a renamed metric silently drops out; list the names with "or" instead`)
      else if (m.value.startsWith('^') || (m.value.endsWith('$') && !m.value.endsWith('\\$')))
        opt('promql/regexp', at, `${shown}: Prometheus anchors every regex already, "^" and "$" are needless`)
      else if (m.value === '.*')
        opt('promql/regexp', at, `${shown} matches every value, and no value: the matcher selects nothing${m.type === '!~' ? ' (every series is excluded)' : ' and can go'}`)
      else if (!REGEX_META.test(m.value))
        opt('promql/regexp', at, `${shown} has no regex in it: write ${m.name}${m.type === '=~' ? '=' : '!='}${JSON.stringify(m.value)}`)
    }
  }
}

/** Labels Alertmanager routes or groups by must survive the alert's aggregations. */
function checkRoutingLabels(expr: Expr, rule: RuleDefinition, config: LintConfig, opt: (c: OptionalCheck, p: SourcePos, m: string) => void): void {
  if (config.routingLabels.length === 0) return
  const labels = outputLabels(expr)
  for (const name of config.routingLabels) {
    if (rule.labels.has(name)) continue
    const can = canCarry(labels, name)
    if (!can.ok && can.droppedBy?.type === 'AggregateExpr')
      opt('promql/aggregation-drops-label', rule.expr.pos, `Alertmanager routes on label "${name}", but the aggregation \`${describe(rule.expr.value, can.droppedBy)}\` removes it: the alert will take the default route`)
  }
}
