/**
 * `rules test`: unit tests in promtool's format (`promtool test rules`), run on the PromQL
 * engine and the ruler itself (ruler/manager.ts) over an in-memory store:
 *   rule_files, evaluation_interval, group_eval_order, tests[]: interval, input_series
 *   (series + values in the `a+bxN` notation with `_` and `stale`), external_labels,
 *   external_url, alert_rule_test (eval_time, alertname, exp_alerts with exp_labels and
 *   exp_annotations: firing alerts only, as promtool), promql_expr_test (expr, eval_time,
 *   exp_samples with labels and value).
 * Rules are evaluated at every evaluation_interval from 0 to the last eval_time, as promtool does.
 *
 * Storage: an in-memory store by default here, or any `RuleTestStorage` (the CLI passes the
 * query service's ClickHouse-backed one, query/promqltest-storage.ts): input series are
 * inserted into ClickHouse and every rule result is written there after each evaluation step,
 * so the rules read through the real ClickHouse querier.
 */
import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, join } from 'node:path'
import { Registry } from 'prom-client'
import { parse as parseYaml } from 'yaml'
import { silentLogger } from '../observability/logger.js'
import { createEngine } from '../promql/engine.js'
import { parseMetric } from '../promql/parser.js'
import { expandSeriesValues } from '../promql/series-notation.js'
import { formatGoG } from '../promql/format.js'
import { MemoryStore } from '../ruler/memory-store.js'
import { RuleManager } from '../ruler/manager.js'
import { RulerMetrics } from '../ruler/metrics.js'
import { labelsKey, type OutputSample, type SampleWriter } from '../ruler/types.js'
import type { PromQLEngine, Querier } from '../promql/api.js'
import type { RuleGroupDefinition } from '../rules-compiler/rule-file.js'
import { loadRuleDefinitions } from '../ruler/rule-loader.js'
import { formatDuration, parseDuration } from '../rules-compiler/duration.js'

export interface TestCaseResult {
  name: string
  /** Empty when the case passed. */
  failures: string[]
}

export interface TestFileResult {
  file: string
  /** A file-level error (unreadable, bad YAML, bad rule files): no case ran. */
  error?: string
  cases: TestCaseResult[]
}

interface RawTestFile {
  rule_files?: string[]
  evaluation_interval?: string
  group_eval_order?: string[]
  tests?: RawTest[]
}
interface RawTest {
  name?: string
  interval?: string
  input_series?: { series: string; values: string }[]
  external_labels?: Record<string, string>
  external_url?: string
  alert_rule_test?: { eval_time: string; alertname: string; exp_alerts?: { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }[] }[]
  promql_expr_test?: { expr: string; eval_time: string; exp_samples?: { labels: string; value: number | string }[] }[]
}

/** Where a test's series live (query/promqltest-storage.ts implements it over ClickHouse). */
export interface RuleTestStorage {
  load(series: readonly { labels: Record<string, string>; samples: readonly { t: number; v: number; stale?: boolean }[] }[]): Promise<void>
  clear(): Promise<void>
  querier(): Querier
}

export class TestFileError extends Error {
  override readonly name = 'TestFileError'
}

export async function runTestFile(file: string, filter?: RegExp, storage?: RuleTestStorage): Promise<TestFileResult> {
  let raw: RawTestFile
  try {
    raw = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as RawTestFile
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new TestFileError('the top level must be a mapping')
  } catch (err) {
    return { file, error: (err as Error).message.split('\n')[0], cases: [] }
  }
  const ruleFiles = (raw.rule_files ?? []).map((f) => (isAbsolute(f) ? f : join(dirname(file), f)))
  // Every case runs the same rule files: read and check them once, parse each query once.
  const shared: SharedRun = { definitions: memoize(loadRuleDefinitions), engine: createEngine() }
  const cases: TestCaseResult[] = []
  const tests = raw.tests ?? []
  for (let i = 0; i < tests.length; i++) {
    const t = tests[i]!
    const name = t.name ?? `test #${i + 1}`
    if (filter && !filter.test(name)) continue
    try {
      const failures = await runCase(t, ruleFiles, raw, shared, storage)
      if (failures.length > 0 && (await passesWithPrometheus2Windows(t, ruleFiles, raw, shared))) failures.push(PROMETHEUS_2_WINDOWS)
      cases.push({ name, failures })
    } catch (err) {
      if (err instanceof TestFileError || (err as Error).name === 'RuleLoadError') return { file, error: (err as Error).message, cases }
      cases.push({ name, failures: [(err as Error).message] })
    }
  }
  return { file, cases }
}

function duration(text: string | undefined, what: string, fallback: number): number {
  if (text === undefined) return fallback
  try {
    return parseDuration(String(text))
  } catch (err) {
    throw new TestFileError(`${what}: ${(err as Error).message}`)
  }
}

interface SharedRun {
  definitions: (files: readonly string[]) => RuleGroupDefinition[]
  engine: PromQLEngine
  /** The same evaluation with Prometheus 2's windows, made on the first failure. */
  prometheus2?: PromQLEngine
}

/**
 * Said under a failure that disappears with Prometheus 2's windows: the verdict differs from
 * promtool 2.x's for that reason alone, not because of the rules.
 */
export const PROMETHEUS_2_WINDOWS =
  '    note: this test passes with Prometheus 2 semantics, where lookback and range windows include their left edge ([t - 5m, t]); Prometheus 3, which metrichouse follows, leaves it out ((t - 5m, t]). promtool 2.x gives the other verdict for that reason: a sample exactly one lookback or one range before the evaluation time no longer counts.'

/** Whether the case passes, in memory, when windows are closed on the left as in Prometheus 2. */
async function passesWithPrometheus2Windows(t: RawTest, ruleFiles: string[], raw: RawTestFile, shared: SharedRun): Promise<boolean> {
  shared.prometheus2 ??= createEngine({ closedWindows: true })
  try {
    return (await runCase(t, ruleFiles, raw, { definitions: shared.definitions, engine: shared.prometheus2 })).length === 0
  } catch {
    return false
  }
}

function memoize<T>(load: (files: readonly string[]) => T): (files: readonly string[]) => T {
  let result: { value: T } | { error: unknown } | undefined
  return (files) => {
    if (result === undefined) {
      try {
        result = { value: load(files) }
      } catch (error) {
        result = { error }
      }
    }
    if ('error' in result) throw result.error
    return result.value
  }
}

async function runCase(t: RawTest, ruleFiles: string[], raw: RawTestFile, shared: SharedRun, storage?: RuleTestStorage): Promise<string[]> {
  const evalInterval = duration(raw.evaluation_interval, 'evaluation_interval', 60_000)
  const seriesInterval = duration(t.interval, 'interval', evalInterval)
  const input: { labels: Record<string, string>; samples: { t: number; v: number; stale?: boolean }[] }[] = []
  for (const s of t.input_series ?? []) {
    let labels: Record<string, string>
    try {
      labels = parseMetric(s.series)
    } catch (err) {
      throw new TestFileError(`input_series "${s.series}": ${(err as Error).message}`)
    }
    const samples: { t: number; v: number; stale?: boolean }[] = []
    expandSeriesValues(String(s.values ?? '')).forEach((v, i) => {
      if (v !== null) samples.push({ t: i * seriesInterval, v: v.v, stale: v.stale })
    })
    input.push({ labels, samples })
  }
  let querier: Querier
  let writer: SampleWriter
  let flush = async () => {}
  if (storage) {
    await storage.clear()
    await storage.load(input)
    querier = storage.querier()
    // Rule results go to storage once per evaluation step (the ruler overlays them meanwhile).
    let pending: OutputSample[] = []
    writer = { write: async (samples) => void pending.push(...samples) }
    flush = async () => {
      if (pending.length === 0) return
      const batch = pending
      pending = []
      const bySeries = new Map<string, { labels: Record<string, string>; samples: { t: number; v: number; stale?: boolean }[] }>()
      for (const o of batch) {
        const key = labelsKey(o.labels)
        let e = bySeries.get(key)
        if (!e) bySeries.set(key, (e = { labels: { ...o.labels }, samples: [] }))
        e.samples.push({ t: o.timestampMs, v: o.value, stale: o.stale })
      }
      await storage.load([...bySeries.values()])
    }
  } else {
    const store = new MemoryStore()
    store.add(input.flatMap((s) => s.samples.map((x) => ({ labels: s.labels, timestampMs: x.t, value: x.v, stale: x.stale }))))
    querier = store.querier
    writer = store.writer
  }
  const manager = new RuleManager({
    ruleFiles,
    loadDefinitions: shared.definitions,
    engine: shared.engine,
    querier,
    writer,
    metrics: new RulerMetrics(new Registry()),
    logger: silentLogger,
    evaluationIntervalMs: evalInterval,
    externalLabels: t.external_labels ?? {},
    externalURL: t.external_url ?? 'http://localhost:9090',
    // Nothing to restore in a unit test.
    outageToleranceMs: 0,
  })
  const loaded = await manager.reload()
  if (!loaded.ok) {
    const e = new Error(loaded.error)
    e.name = 'RuleLoadError'
    throw e
  }
  if (raw.group_eval_order) manager.orderGroups(raw.group_eval_order)

  const failures: string[] = []
  const alertTests = (t.alert_rule_test ?? []).map((a) => ({ ...a, at: duration(a.eval_time, 'eval_time', 0) })).sort((a, b) => a.at - b.at)
  const exprTests = (t.promql_expr_test ?? []).map((e) => ({ ...e, at: duration(e.eval_time, 'eval_time', 0) }))
  const maxTime = Math.max(0, ...alertTests.map((a) => a.at), ...exprTests.map((e) => e.at))
  let next = 0
  for (let ts = 0; ts <= maxTime; ts += evalInterval) {
    await manager.evaluateAll(ts)
    await flush()
    // An eval_time between two evaluations sees the state of the earlier one, as in promtool.
    while (next < alertTests.length && alertTests[next]!.at < ts + evalInterval) {
      const at = alertTests[next++]!
      const got = manager
        .ruleGroups()
        .flatMap((g) => g.spec.rules)
        .flatMap((r) => (r.kind === 'alerting' && r.name === at.alertname ? r.alerts().filter((a) => a.state === 'firing') : []))
        .map((a) => ({ labels: a.labels, annotations: a.annotations }))
      const exp = (at.exp_alerts ?? []).map((e) => ({ labels: { ...stringMap(e.exp_labels), alertname: at.alertname }, annotations: stringMap(e.exp_annotations) }))
      const norm = (xs: { labels: Record<string, string>; annotations: Record<string, string> }[]) => xs.map((x) => `${labelsKey(x.labels)} ${labelsKey(x.annotations)}`).sort()
      if (JSON.stringify(norm(got)) !== JSON.stringify(norm(exp))) {
        failures.push(`alertname: ${at.alertname}, time: ${formatDuration(at.at)}, \n        exp:${describeAlerts(exp)}, \n        got:${describeAlerts(got)}`)
      }
    }
  }
  const { engine } = shared
  for (const e of exprTests) {
    let got: { labels: Record<string, string>; value: number }[]
    try {
      const result = await engine.instantQuery(querier, e.expr, e.at)
      const v = result.value
      got = v.type === 'vector' ? v.samples.map((s) => ({ labels: { ...s.labels }, value: s.v })) : v.type === 'scalar' ? [{ labels: {}, value: v.v }] : []
    } catch (err) {
      failures.push(`    expr: ${JSON.stringify(e.expr)}, time: ${formatDuration(e.at)}, err: ${(err as Error).message}`)
      continue
    }
    const exp = (e.exp_samples ?? []).map((s) => ({ labels: s.labels ? parseMetric(s.labels) : {}, value: Number(s.value) }))
    const sortKey = (x: { labels: Record<string, string> }) => labelsKey(x.labels)
    got.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1))
    exp.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1))
    const same = got.length === exp.length && got.every((g, i) => sortKey(g) === sortKey(exp[i]!) && almostEqual(g.value, exp[i]!.value))
    if (!same) failures.push(`    expr: ${JSON.stringify(e.expr)}, time: ${formatDuration(e.at)},\n        exp: ${describeSamples(exp)}\n        got: ${describeSamples(got)}`)
  }
  await manager.stop()
  return failures
}

function stringMap(m: Record<string, unknown> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, String(v)]))
}

function almostEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true
  if (a === b) return true
  return Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b))
}

function describeLabels(l: Record<string, string>): string {
  const name = l.__name__ ?? ''
  const rest = Object.keys(l)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${JSON.stringify(l[k])}`)
  return `${name}{${rest.join(', ')}}`
}

function describeAlerts(xs: { labels: Record<string, string>; annotations: Record<string, string> }[]): string {
  if (xs.length === 0) return '[]'
  return '[\n' + xs.map((x, i) => `            ${i}:\n              Labels:${describeLabels(x.labels)}\n              Annotations:${describeLabels(x.annotations)}`).join('\n') + '\n        ]'
}

function describeSamples(xs: { labels: Record<string, string>; value: number }[]): string {
  return xs.length === 0 ? '[]' : xs.map((s) => `${describeLabels(s.labels)} ${formatGoG(s.value)}`).join(', ')
}
