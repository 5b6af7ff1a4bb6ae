/**
 * Runs a PromQL test file against an engine and a storage, with the semantics of
 * Prometheus's promqltest harness: lookback 5m, subquery step 1m, every instant eval also
 * checked in range mode (middle step of [t-1m, t+1m]) and re-run with `@ <t>` on every
 * selector at several evaluation times (unless a function makes that unsafe).
 *
 * Evals that depend on what this engine does not implement (native histograms, limitk /
 * limit_ratio, type-and-unit labels) are reported as "unsupported" when they fail.
 */
import { RE2JS } from 're2js'
import type { LabelMatcher, Labels, MatchType, PromQLEngine, Querier, QueryResult } from '../api.js'
import type { Expr } from '../ast.js'
import { createEngine } from '../engine.js'
import { labelsKey } from '../eval/values.js'
import { almostEqual } from '../eval/histogram-quantile.js'
import { formatGoG } from '../format.js'
import type { MemorySample } from '../memory-querier.js'
import { matchesAll } from '../memory-querier.js'
import { parsePromQL } from '../parser.js'
import { printExpr } from '../printer.js'
import type { Command, EvalCommand, Expectation } from './test-file.js'
import { parseTestFile } from './test-file.js'

/** Where a test file's data lives; the ClickHouse path implements the same three calls. */
export interface TestStorage {
  load(series: readonly { labels: Labels; samples: readonly MemorySample[] }[]): Promise<void>
  clear(): Promise<void>
  querier(): Querier
}

export type Outcome = 'passed' | 'failed' | 'unsupported'

export interface EvalOutcome {
  readonly line: number
  readonly query: string
  readonly outcome: Outcome
  /** Why it failed or is unsupported. */
  readonly message?: string
}

export interface FileResult {
  readonly passed: number
  readonly failed: number
  readonly unsupported: number
  readonly evals: readonly EvalOutcome[]
}

export interface RunOptions {
  readonly storage: TestStorage
  /** Defaults to the harness configuration (5m lookback, 1m subquery step). */
  readonly engine?: PromQLEngine
  /** Used to mark evals of feature files (type_and_unit.test) as unsupported on failure. */
  readonly fileName?: string
}

const EPSILON = 0.000001

/** Functions whose results depend on evaluation time although their arguments are fixed by `@`. */
const AT_UNSAFE = new Set(['days_in_month', 'day_of_month', 'day_of_week', 'day_of_year', 'hour', 'minute', 'month', 'year', 'predict_linear', 'time', 'timestamp'])

export function harnessEngine(): PromQLEngine {
  return createEngine({ lookbackDelta: 300_000, defaultSubqueryStep: 60_000, timeoutMs: 60_000 })
}

class EvalFailure extends Error {}

export async function runTestFile(text: string, opts: RunOptions): Promise<FileResult> {
  const engine = opts.engine ?? harnessEngine()
  const cmds: Command[] = parseTestFile(text)
  const evals: EvalOutcome[] = []
  // Native-histogram series of the current data (not loaded): evals touching them are unsupported.
  let histograms: Record<string, string>[] = []
  await opts.storage.clear()
  for (const cmd of cmds) {
    if (cmd.kind === 'clear') {
      await opts.storage.clear()
      histograms = []
      continue
    }
    if (cmd.kind === 'load') {
      const series = cmd.series.map((s) => ({
        labels: s.labels,
        samples: s.values.flatMap((v, i) => (v === null ? [] : [{ t: i * cmd.interval, v: v.v, ...(v.stale ? { stale: true } : {}) }])),
      }))
      await opts.storage.load(series)
      histograms.push(...cmd.histogramSeries)
      if (cmd.withNhcb) {
        // load_with_nhcb also stores each classic histogram as a native one named without _bucket.
        for (const s of cmd.series) {
          const name = s.labels.__name__ ?? ''
          if (!name.endsWith('_bucket')) continue
          const { le: _le, ...rest } = s.labels
          histograms.push({ ...rest, __name__: name.slice(0, -'_bucket'.length) })
        }
      }
      continue
    }
    const unsupportedReason = unsupported(cmd, histograms, opts.fileName)
    try {
      await runEval(engine, opts.storage.querier(), cmd)
      evals.push({ line: cmd.line, query: cmd.query, outcome: 'passed' })
    } catch (e) {
      const message = e instanceof EvalFailure ? e.message : `${(e as Error).name}: ${(e as Error).message}`
      evals.push({ line: cmd.line, query: cmd.query, outcome: unsupportedReason ? 'unsupported' : 'failed', message: unsupportedReason ? `${unsupportedReason}: ${message}` : message })
    }
  }
  return {
    passed: evals.filter((e) => e.outcome === 'passed').length,
    failed: evals.filter((e) => e.outcome === 'failed').length,
    unsupported: evals.filter((e) => e.outcome === 'unsupported').length,
    evals,
  }
}

function unsupported(cmd: EvalCommand, histograms: readonly Record<string, string>[], fileName: string | undefined): string | undefined {
  if (cmd.expectsHistograms) return 'native histogram result'
  if (histograms.length > 0) {
    let expr: Expr | undefined
    try { expr = parsePromQL(cmd.query) } catch { expr = undefined }
    if (expr && selectors(expr).some((m) => histograms.some((h) => matchesAll(h, m)))) return 'native histogram data'
  }
  if (/\blimit(k|_ratio)\s*\(/.test(cmd.query)) return 'limitk/limit_ratio'
  if (fileName && /type_and_unit/.test(fileName)) return 'type-and-unit labels'
  return undefined
}

async function runEval(engine: PromQLEngine, querier: Querier, cmd: EvalCommand): Promise<void> {
  if (!cmd.instant) {
    const res = await query(() => engine.rangeQuery(querier, cmd.query, cmd.start, cmd.end, cmd.step), cmd)
    if (!res) return
    checkAnnotations(cmd, res)
    compareRange(cmd, res)
    return
  }
  const cases: { q: string; t: number }[] = [{ q: cmd.query, t: cmd.start }]
  const withAt = atModifierQuery(cmd.query, cmd.start)
  if (withAt !== undefined) {
    const ts = cmd.start
    const times = ts === 0 ? [-1000, 0, 1000] : [-10 * ts, 0, Math.trunc(ts / 5), ts, 10 * ts]
    for (const t of times) cases.push({ q: withAt, t })
  }
  for (const c of cases) {
    const res = await query(() => engine.instantQuery(querier, c.q, c.t), cmd, c.q)
    if (!res) continue
    checkAnnotations(cmd, res)
    compareInstant(cmd, res, c.q)
    // The same query in range mode must give the same answer at the middle step.
    let rangeRes: QueryResult
    try {
      rangeRes = await engine.rangeQuery(querier, c.q, c.t - 60_000, c.t + 60_000, 60_000)
    } catch (e) {
      throw new EvalFailure(`error evaluating query ${JSON.stringify(c.q)} in range mode: ${(e as Error).message}`)
    }
    if (isOrdered(cmd)) continue
    if (rangeRes.value.type !== 'matrix') throw new EvalFailure('range mode did not return a matrix')
    const samples = rangeRes.value.series.flatMap((s) => s.points.filter((p) => p.t === c.t).map((p) => ({ labels: s.labels, t: p.t, v: p.v })))
    if (cmd.scalar !== undefined) {
      compareInstant(cmd, { value: { type: 'scalar', t: c.t, v: samples[0]?.v ?? NaN }, warnings: [], infos: [] }, c.q + ' (range mode)')
    } else {
      compareInstant(cmd, { value: { type: 'vector', samples }, warnings: [], infos: [] }, c.q + ' (range mode)')
    }
  }
}

function isFail(cmd: EvalCommand): boolean {
  return cmd.fail || cmd.expects.some((e) => e.type === 'fail')
}

function isOrdered(cmd: EvalCommand): boolean {
  return cmd.ordered || cmd.expects.some((e) => e.type === 'ordered')
}

function matches(e: Expectation, text: string): boolean {
  if (e.message !== undefined) return e.message === text
  if (e.regex !== undefined) return RE2JS.compile(e.regex).matcher(text).find()
  return true
}

/** Runs one query; returns undefined when an expected failure happened as expected. */
async function query(run: () => Promise<QueryResult>, cmd: EvalCommand, q = cmd.query): Promise<QueryResult | undefined> {
  let res: QueryResult
  try {
    res = await run()
  } catch (e) {
    const msg = (e as Error).message
    if (!isFail(cmd)) throw new EvalFailure(`error evaluating query ${JSON.stringify(q)}: ${msg}`)
    if (cmd.expectedFailMessage !== undefined && cmd.expectedFailMessage !== msg) {
      throw new EvalFailure(`expected error ${JSON.stringify(cmd.expectedFailMessage)}, got: ${msg}`)
    }
    if (cmd.expectedFailRegexp !== undefined && !RE2JS.compile(cmd.expectedFailRegexp).matcher(msg).find()) {
      throw new EvalFailure(`expected error matching ${JSON.stringify(cmd.expectedFailRegexp)}, got: ${msg}`)
    }
    const f = cmd.expects.find((x) => x.type === 'fail')
    if (f && !matches(f, msg)) throw new EvalFailure(`expected error matching ${JSON.stringify(f.message ?? f.regex)}, got: ${msg}`)
    return undefined
  }
  if (isFail(cmd)) throw new EvalFailure(`expected error evaluating query ${JSON.stringify(q)} but got none`)
  return res
}

function checkAnnotations(cmd: EvalCommand, res: QueryResult): void {
  if (cmd.warn && res.warnings.length === 0) throw new EvalFailure('expected warnings but got none')
  if (cmd.info && res.infos.length === 0) throw new EvalFailure('expected info annotations but got none')
  const check = (type: 'warn' | 'info', actual: readonly string[]): void => {
    const exp = cmd.expects.filter((e) => e.type === type)
    if (exp.length === 0) return
    if (actual.length === 0) throw new EvalFailure(`expected ${type} annotations but none were found`)
    for (const e of exp) {
      if (!actual.some((a) => matches(e, a))) throw new EvalFailure(`expected ${type} annotation ${JSON.stringify(e.message ?? e.regex)} not found; found ${JSON.stringify(actual)}`)
    }
    for (const a of actual) {
      if (!exp.some((e) => matches(e, a))) throw new EvalFailure(`unexpected ${type} annotation ${JSON.stringify(a)}`)
    }
  }
  // Prometheus's harness compares annotation texts without the API's ` (line:col)` suffix.
  const bare = (notes: readonly string[]): string[] => notes.map((n) => n.replace(/ \(\d+:\d+\)$/, ''))
  check('warn', bare(res.warnings))
  check('info', bare(res.infos))
  if (cmd.expects.some((e) => e.type === 'no_warn') && res.warnings.length > 0) throw new EvalFailure(`unexpected warnings: ${JSON.stringify(res.warnings)}`)
  if (cmd.expects.some((e) => e.type === 'no_info') && res.infos.length > 0) throw new EvalFailure(`unexpected infos: ${JSON.stringify(res.infos)}`)
}

/** Label identity for comparisons: an empty value is the same as no label (as in Prometheus). */
function keyOf(labels: Labels): string {
  const clean: Record<string, string> = {}
  for (const k in labels) if (labels[k] !== '') clean[k] = labels[k]
  return labelsKey(clean)
}

function show(labels: Labels): string {
  return '{' + Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(', ') + '}'
}

function compareInstant(cmd: EvalCommand, res: QueryResult, q: string): void {
  const v = res.value
  if (v.type === 'scalar') {
    if (cmd.scalar === undefined) throw new EvalFailure(`expected vector or matrix result, but got scalar ${formatGoG(v.v)} (${q})`)
    if (!almostEqual(cmd.scalar, v.v, EPSILON)) throw new EvalFailure(`expected scalar ${formatGoG(cmd.scalar)} but got ${formatGoG(v.v)} (${q})`)
    return
  }
  if (v.type !== 'vector') throw new EvalFailure(`unexpected ${v.type} result (${q})`)
  if (cmd.scalar !== undefined) throw new EvalFailure(`expected scalar result, but got vector (${q})`)
  const expected = new Map(cmd.series.map((s) => [keyOf(s.labels), s]))
  const seen = new Set<string>()
  v.samples.forEach((s, i) => {
    const k = keyOf(s.labels)
    const exp = expected.get(k)
    if (!exp) throw new EvalFailure(`unexpected metric ${show(s.labels)} in result, has value ${formatGoG(s.v)} (${q})`)
    if (isOrdered(cmd) && exp.pos !== i + 1) throw new EvalFailure(`expected metric ${show(s.labels)} at position ${exp.pos} but was at ${i + 1} (${q})`)
    const e0 = exp.values[0]
    const ev = e0 === null || e0 === undefined ? NaN : e0.v
    if (!almostEqual(ev, s.v, EPSILON)) throw new EvalFailure(`expected ${formatGoG(ev)} for ${show(s.labels)} but got ${formatGoG(s.v)} (${q})`)
    seen.add(k)
  })
  for (const [k, s] of expected) if (!seen.has(k)) throw new EvalFailure(`expected metric ${show(s.labels)} not found (${q})`)
}

function compareRange(cmd: EvalCommand, res: QueryResult): void {
  const v = res.value
  if (v.type !== 'matrix') throw new EvalFailure(`expected matrix result, got ${v.type}`)
  if (cmd.scalar !== undefined) throw new EvalFailure('expected scalar result, but got matrix')
  const expected = new Map(cmd.series.map((s) => [keyOf(s.labels), s]))
  const seen = new Set<string>()
  for (const s of v.series) {
    const k = keyOf(s.labels)
    const exp = expected.get(k)
    if (!exp) throw new EvalFailure(`unexpected metric ${show(s.labels)} in result, has ${s.points.map((p) => `${formatGoG(p.v)} @[${p.t}]`).join(', ')}`)
    seen.add(k)
    const want: { t: number; v: number }[] = []
    exp.values.forEach((e, i) => {
      const t = cmd.start + i * cmd.step
      if (t > cmd.end) throw new EvalFailure(`expected ${exp.values.length} points for ${show(s.labels)}, but query time range cannot return this many points`)
      if (e !== null) want.push({ t, v: e.v })
    })
    if (want.length !== s.points.length) {
      throw new EvalFailure(`expected ${want.length} points for ${show(s.labels)}, got ${s.points.length}: ${s.points.map((p) => `${formatGoG(p.v)} @[${p.t}]`).join(', ')}`)
    }
    want.forEach((w, i) => {
      const a = s.points[i]
      if (a.t !== w.t) throw new EvalFailure(`expected point ${i} of ${show(s.labels)} at ${w.t}, got ${a.t}`)
      if (!almostEqual(a.v, w.v, EPSILON)) throw new EvalFailure(`expected ${formatGoG(w.v)} at t=${a.t} for ${show(s.labels)}, got ${formatGoG(a.v)}`)
    })
  }
  for (const [k, s] of expected) if (!seen.has(k)) throw new EvalFailure(`expected metric ${show(s.labels)} not found`)
}

function selectors(e: Expr): (readonly LabelMatcher[])[] {
  switch (e.type) {
    case 'VectorSelector': return [e.matchers]
    case 'MatrixSelector': return [e.selector.matchers]
    case 'SubqueryExpr': case 'UnaryExpr': case 'ParenExpr': return selectors(e.expr)
    case 'Call': return e.args.flatMap(selectors)
    case 'AggregateExpr': return [...selectors(e.expr), ...(e.param ? selectors(e.param) : [])]
    case 'BinaryExpr': return [...selectors(e.lhs), ...selectors(e.rhs)]
    default: return []
  }
}

/** The query with `@ <t>` on every selector not inside an `@` subquery; undefined when unsafe. */
export function atModifierQuery(q: string, t: number): string | undefined {
  let expr: Expr
  try { expr = parsePromQL(q) } catch { return undefined }
  let unsafe = false
  const at = { kind: 'time' as const, t }
  const walk = (e: Expr, underAt: boolean): Expr => {
    switch (e.type) {
      case 'VectorSelector': return underAt || e.at ? e : { ...e, at }
      case 'MatrixSelector': return underAt || e.selector.at ? e : { ...e, selector: { ...e.selector, at } }
      // A subquery gets the `@` itself; its inner selectors then stay as written.
      case 'SubqueryExpr': return underAt || e.at ? e : { ...e, at }
      case 'Call':
        if (AT_UNSAFE.has(e.func)) unsafe = true
        return { ...e, args: e.args.map((a) => walk(a, underAt)) }
      case 'AggregateExpr': return { ...e, expr: walk(e.expr, underAt), ...(e.param ? { param: walk(e.param, underAt) } : {}) }
      case 'BinaryExpr': return { ...e, lhs: walk(e.lhs, underAt), rhs: walk(e.rhs, underAt) }
      case 'UnaryExpr': case 'ParenExpr': return { ...e, expr: walk(e.expr, underAt) }
      default: return e
    }
  }
  const out = walk(expr, false)
  if (unsafe) return undefined
  return printExpr(out)
}

export type { MatchType }
