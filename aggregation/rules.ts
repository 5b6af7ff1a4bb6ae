/**
 * Stream-aggregation rules in vmagent's format (a YAML list of rules with `match`,
 * `interval`, `by`/`without`, `outputs`), the subset metrichouse supports (docs/aggregation.md).
 * Everything else of the format is refused when the file is loaded, naming the rule and the
 * field, so a rule file never means less here than its author expected.
 */
import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { parseDurationMs } from '../config/units.js'
import type { LabelMatcher } from '../promql/api.js'
import { matchesAll } from '../promql/memory-querier.js'
import { parseSeriesSelector } from '../promql/parser.js'
import { compileAnchored } from '../promql/regex.js'
import type { Label } from '../proto/types.js'

export type OutputKind =
  | 'total'
  | 'total_prometheus'
  | 'increase'
  | 'increase_prometheus'
  | 'rate_sum'
  | 'rate_avg'
  | 'sum_samples'
  | 'count_samples'
  | 'count_series'
  | 'min'
  | 'max'
  | 'avg'
  | 'last'
  | 'quantiles'

const SIMPLE_OUTPUTS: readonly OutputKind[] = [
  'total',
  'total_prometheus',
  'increase',
  'increase_prometheus',
  'rate_sum',
  'rate_avg',
  'sum_samples',
  'count_samples',
  'count_series',
  'min',
  'max',
  'avg',
  'last',
]

/** vmagent outputs metrichouse does not compute (yet): refused with this name. */
const UNSUPPORTED_OUTPUTS = ['stddev', 'stdvar', 'histogram_bucket', 'unique_samples', 'sum_samples_total', 'count_samples_total', 'sum_series']

const SUPPORTED_FIELDS = new Set(['match', 'interval', 'staleness_interval', 'by', 'without', 'outputs'])

/** Fields of vmagent's format that metrichouse refuses (rather than silently ignore). */
const UNSUPPORTED_FIELDS = new Set([
  'name',
  'dedup_interval',
  'ignore_old_samples',
  'ignore_first_intervals',
  'ignore_first_sample_interval',
  'flush_on_shutdown',
  'no_align_flush_to_interval',
  'keep_metric_names',
  'drop_input_labels',
  'input_relabel_configs',
  'output_relabel_configs',
  'enable_windows',
  'keep_input',
  'drop_input',
])

export interface OutputSpec {
  kind: OutputKind
  /** quantiles(...) only: the phis, in the order written. */
  phis?: number[]
}

export interface AggregationRule {
  /** 0-based position in the file, for messages and metric labels. */
  index: number
  /** The series matches if it matches any of these selectors. */
  match: LabelMatcher[][]
  intervalMs: number
  /** The interval as written: it is part of every output name (`:1m_`). */
  intervalText: string
  stalenessMs: number
  /** Sorted; `__name__` implied. Undefined with `without` or neither. */
  by?: string[]
  /** Sorted. */
  without?: string[]
  outputs: OutputSpec[]
  /** `:<interval>[_by_<labels>|_without_<labels>]_`: the output name is metric + suffix + output. */
  suffix: string
}

export class AggregationConfigError extends Error {
  override name = 'AggregationConfigError'
}

function fail(where: string, msg: string): never {
  throw new AggregationConfigError(`${where}: ${msg}`)
}

function stringList(value: unknown, where: string, field: string): string[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) fail(where, `${field} must be a list of label names`)
  return value as string[]
}

function labelNames(value: unknown, where: string, field: string): string[] {
  const names = [...new Set(stringList(value, where, field))].sort()
  for (const n of names) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n)) fail(where, `${field}: invalid label name ${JSON.stringify(n.slice(0, 60))}`)
    if (n === '__name__') fail(where, `${field}: __name__ cannot be listed (outputs are always grouped by metric name)`)
  }
  return names
}

function duration(value: unknown, where: string, field: string): { ms: number; text: string } {
  if (typeof value !== 'string') fail(where, `${field} must be a duration such as "1m"`)
  let ms: number
  try {
    ms = parseDurationMs(value)
  } catch (err) {
    fail(where, `${field}: ${(err as Error).message}`)
  }
  return { ms, text: value }
}

function parseOutput(text: unknown, where: string): OutputSpec {
  if (typeof text !== 'string') fail(where, 'outputs must be a list of names')
  const q = /^quantiles\((.*)\)$/.exec(text.trim())
  if (q) {
    const args = q[1].split(',').map((a) => a.trim())
    if (args.length === 0 || args[0] === '') fail(where, 'quantiles() needs at least one phi')
    const phis = args.map((a) => {
      const phi = Number(a)
      if (a === '' || !Number.isFinite(phi) || phi < 0 || phi > 1) fail(where, `quantiles(${q[1]}): phi ${JSON.stringify(a)} is not a number in [0, 1]`)
      return phi
    })
    return { kind: 'quantiles', phis }
  }
  if ((SIMPLE_OUTPUTS as readonly string[]).includes(text)) return { kind: text as OutputKind }
  if (UNSUPPORTED_OUTPUTS.includes(text)) fail(where, `output ${JSON.stringify(text)} is not supported by metrichouse (supported: ${SIMPLE_OUTPUTS.join(', ')}, quantiles(...))`)
  fail(where, `unknown output ${JSON.stringify(text.slice(0, 60))} (supported: ${SIMPLE_OUTPUTS.join(', ')}, quantiles(...))`)
}

function parseMatch(value: unknown, where: string): LabelMatcher[][] {
  if (value === undefined || value === null) return [[]]
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0 || list.some((v) => typeof v !== 'string')) fail(where, 'match must be a series selector or a list of them')
  return (list as string[]).map((selector) => {
    try {
      const matchers = parseSeriesSelector(selector)
      // Compile now: a bad regex is a start-up error, not a per-sample one.
      for (const m of matchers) if (m.type === '=~' || m.type === '!~') compileAnchored(m.value)
      return matchers
    } catch (err) {
      fail(where, `match ${JSON.stringify(selector.slice(0, 80))}: ${(err as Error).message}`)
    }
  })
}

/** Parses and checks the rules of one file (its text); `source` names it in messages. */
export function parseAggregationRules(text: string, source: string): AggregationRule[] {
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (err) {
    throw new AggregationConfigError(`${source}: not valid YAML: ${(err as Error).message.split('\n')[0]}`)
  }
  if (doc === null || doc === undefined) return []
  if (!Array.isArray(doc)) throw new AggregationConfigError(`${source}: expected a list of aggregation rules`)
  return doc.map((raw: unknown, index) => {
    const where = `${source}: rule ${index + 1}`
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where, 'a rule is a mapping with match, interval and outputs')
    const r = raw as Record<string, unknown>
    for (const key of Object.keys(r)) {
      if (UNSUPPORTED_FIELDS.has(key)) fail(where, `field ${key} is not supported by metrichouse (supported: ${[...SUPPORTED_FIELDS].join(', ')})`)
      if (!SUPPORTED_FIELDS.has(key)) fail(where, `unknown field ${JSON.stringify(key.slice(0, 60))}`)
    }
    const interval = duration(r.interval, where, 'interval')
    if (interval.ms < 1000) fail(where, `interval must be at least 1s, got ${interval.text}`)
    const staleness = r.staleness_interval === undefined ? { ms: interval.ms * 2 } : duration(r.staleness_interval, where, 'staleness_interval')
    if (staleness.ms < interval.ms) fail(where, `staleness_interval must not be shorter than interval (${interval.text})`)
    const by = labelNames(r.by, where, 'by')
    const without = labelNames(r.without, where, 'without')
    if (by.length > 0 && without.length > 0) fail(where, 'by and without cannot both be set')
    if (!Array.isArray(r.outputs) || r.outputs.length === 0) fail(where, 'outputs must list at least one output')
    const outputs = r.outputs.map((o) => parseOutput(o, where))
    const kinds = outputs.map((o) => o.kind)
    if (new Set(kinds).size !== kinds.length) fail(where, 'an output is listed twice')
    let suffix = `:${interval.text}`
    if (by.length > 0) suffix += `_by_${by.join('_')}`
    if (without.length > 0) suffix += `_without_${without.join('_')}`
    return {
      index,
      match: parseMatch(r.match, where),
      intervalMs: interval.ms,
      intervalText: interval.text,
      stalenessMs: staleness.ms,
      by: by.length > 0 ? by : undefined,
      without: without.length > 0 ? without : undefined,
      outputs,
      suffix: suffix + '_',
    }
  })
}

export async function loadAggregationRules(path: string): Promise<AggregationRule[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new AggregationConfigError(`cannot read aggregation rules ${path}: ${(err as Error).message}`)
  }
  return parseAggregationRules(text, path)
}

/** Whether the series (__name__ among its labels) matches any of the rule's selectors. */
export function ruleMatches(rule: AggregationRule, labels: readonly Label[]): boolean {
  const record: Record<string, string> = {}
  for (const l of labels) record[l.name] = l.value
  return rule.match.some((matchers) => matchesAll(record, matchers))
}

/**
 * The labels an input series contributes to its output series, __name__ excluded: the `by`
 * labels it has, all but the `without` labels, or all of them when neither is set.
 */
export function groupLabels(rule: AggregationRule, labels: readonly Label[]): Label[] {
  const out: Label[] = []
  for (const l of labels) {
    if (l.name === '__name__') continue
    if (rule.by && !rule.by.includes(l.name)) continue
    if (rule.without?.includes(l.name)) continue
    out.push(l)
  }
  return out
}
