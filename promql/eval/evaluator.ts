/**
 * Walks the AST over a step grid. Selectors read through the Querier once per node (with
 * SelectHints covering every step), subqueries evaluate their inner expression once over
 * their own aligned grid, and range functions slide a window over each series' samples.
 */
import type { LabelMatcher, Querier, SelectHints, SubtreeGrid } from '../api.js'
import { PromQLCanceledError, PromQLExecutionError, PromQLTimeoutError } from '../api.js'
import type { AtModifier, Expr, MatrixSelector, PosRange, SubqueryExpr, VectorSelector } from '../ast.js'
import { evalAggregate } from './aggregate.js'
import { evalBinary } from './binary.js'
import { evalCall, nonCounterInfo } from './functions.js'
import type { Grid, MatrixValue, MSeries, ScalarValue, Value, VectorValue } from './values.js'
import { dropNameLabel, gridOf, stepTime, VSeries } from './values.js'

export interface EvalOptions {
  readonly querier: Querier
  readonly lookbackDelta: number
  readonly defaultSubqueryStep: number
  readonly maxSamples: number
  readonly rawOnly?: boolean
  readonly signal?: AbortSignal
  /** Outer query's start/end: what `@ start()` / `@ end()` mean at any depth. */
  readonly queryStart: number
  readonly queryEnd: number
  /** True when the signal's abort means a timeout rather than a cancellation. */
  readonly timedOut?: () => boolean
  /**
   * Epoch ms after which evaluation stops. Checked by clock as well as by signal, because a
   * timer cannot fire while a long synchronous loop holds the event loop.
   */
  readonly deadlineAt?: number
  /**
   * Prometheus 3.5's delayed name removal (its test harness turns it on; a Prometheus server
   * needs --enable-feature=promql-delayed-name-removal). Off: names go as soon as an operation
   * drops them, and series that become identical are merged or rejected right there.
   */
  readonly delayedNameRemoval: boolean
  /** Prometheus 2's left-closed lookback and range windows (EngineOptions.closedWindows). */
  readonly closedWindows?: boolean
}

/** What the enclosing nodes tell a selector's SelectHints. */
interface HintContext {
  readonly func?: string
  readonly grouping?: readonly string[]
  readonly by?: boolean
}

export class Evaluator {
  /** Annotation text -> where in the query it points (the API appends ` (line:col)`). */
  readonly warnings = new Map<string, PosRange | undefined>()
  readonly infos = new Map<string, PosRange | undefined>()
  private samples = 0

  constructor(readonly opts: EvalOptions) {}

  warn(message: string, pos?: PosRange): void {
    if (!this.warnings.has(message)) this.warnings.set(message, pos)
  }

  info(message: string, pos?: PosRange): void {
    if (!this.infos.has(message)) this.infos.set(message, pos)
  }

  checkAbort(): void {
    if (this.opts.deadlineAt !== undefined && Date.now() > this.opts.deadlineAt) {
      throw new PromQLTimeoutError('query timed out in expression evaluation')
    }
    const s = this.opts.signal
    if (s?.aborted) {
      if (this.opts.timedOut?.()) throw new PromQLTimeoutError('query timed out in expression evaluation')
      throw new PromQLCanceledError('query was canceled in expression evaluation')
    }
  }

  /** Counts points held in memory against maxSamples (Prometheus's --query.max-samples). */
  addSamples(n: number): void {
    this.samples += n
    if (this.samples > this.opts.maxSamples) {
      throw new PromQLExecutionError('query processing would load too many samples into memory in query execution')
    }
  }

  atTime(at: AtModifier | undefined): number | undefined {
    if (!at) return undefined
    if (at.kind === 'start') return this.opts.queryStart
    if (at.kind === 'end') return this.opts.queryEnd
    return at.t
  }

  async eval(e: Expr, g: Grid, hints: HintContext = {}): Promise<Value> {
    const v = await this.evalNode(e, g, hints)
    if (!this.opts.delayedNameRemoval && v.kind === 'vector' && (e.type === 'Call' || e.type === 'AggregateExpr' || e.type === 'BinaryExpr' || e.type === 'UnaryExpr')) {
      return dropNamesNow(v, g)
    }
    return v
  }

  private lastYield = Date.now()

  /**
   * Abort signals (a client that went away) fire only from the event loop, which a long
   * synchronous evaluation would starve: give it a turn every few milliseconds of work.
   */
  private async yieldIfBusy(): Promise<void> {
    if (Date.now() - this.lastYield < 10) return
    await new Promise<void>((resolve) => setImmediate(resolve))
    this.lastYield = Date.now()
  }

  /** For long loops inside one node: lets the event loop run and stops at the deadline. */
  async pace(): Promise<void> {
    await this.yieldIfBusy()
    this.checkAbort()
  }

  private async evalNode(e: Expr, g: Grid, hints: HintContext): Promise<Value> {
    await this.pace()
    if (this.opts.querier.evaluate && OFFERED.has(e.type)) {
      const pushed = await this.offer(e, g)
      if (pushed) return pushed
    }
    switch (e.type) {
      case 'NumberLiteral':
        return { kind: 'scalar', values: new Float64Array(g.n).fill(e.value) }
      case 'StringLiteral':
        return { kind: 'string', value: e.value }
      // Storage hints follow Prometheus: the function is the nearest call or aggregation above
      // (not across binary operators); grouping only reaches a selector directly under `by`/`without`.
      case 'ParenExpr':
        return this.eval(e.expr, g, { func: hints.func })
      case 'UnaryExpr': {
        const v = await this.eval(e.expr, g, { func: hints.func })
        if (e.op === '+') return v
        if (v.kind === 'scalar') return { kind: 'scalar', values: v.values.map((x) => -x) }
        if (v.kind !== 'vector') throw new PromQLExecutionError('unary minus on a non-vector')
        return {
          kind: 'vector',
          series: v.series.map((s) => new VSeries(s.labels, true, s.values.map((x) => -x), s.present)),
        }
      }
      case 'VectorSelector':
        return this.vectorSelector(e, g, hints, false)
      case 'MatrixSelector':
        return this.matrixSelector(e, g, { func: hints.func })
      case 'SubqueryExpr':
        return this.subquery(e, g, { func: hints.func })
      case 'Call':
        return evalCall(this, e, g)
      case 'AggregateExpr':
        return evalAggregate(this, e, g)
      case 'BinaryExpr':
        return evalBinary(this, e, g)
    }
  }

  /** Offers the subtree to storage (Querier.evaluate); its answer, or undefined when declined. */
  private async offer(e: Expr, g: Grid): Promise<VectorValue | undefined> {
    const grid: SubtreeGrid = {
      start: g.start, end: g.end, step: g.step, lookbackDelta: this.opts.lookbackDelta,
      queryStart: this.opts.queryStart, queryEnd: this.opts.queryEnd,
      ...(this.opts.rawOnly !== undefined ? { rawOnly: this.opts.rawOnly } : {}),
    }
    const result = await this.opts.querier.evaluate!(e, grid, this.opts.signal)
    this.checkAbort()
    if (!result) return undefined
    let points = 0
    const series: VSeries[] = []
    for (const r of result) {
      if (r.values.length !== g.n || r.present.length !== g.n) throw new PromQLExecutionError(`storage answered a subtree with ${r.values.length} steps, expected ${g.n}`)
      for (let i = 0; i < g.n; i++) points += r.present[i]
      series.push(new VSeries(r.labels, r.dropName, r.values, r.present))
    }
    this.addSamples(points)
    counterInfos(this, e, series)
    return { kind: 'vector', series }
  }

  async evalVector(e: Expr, g: Grid, hints: HintContext = {}): Promise<VectorValue> {
    const v = await this.eval(e, g, hints)
    if (v.kind !== 'vector') throw new PromQLExecutionError(`expected instant vector, got ${v.kind}`)
    return v
  }

  async evalScalar(e: Expr, g: Grid): Promise<ScalarValue> {
    const v = await this.eval(e, g)
    if (v.kind !== 'scalar') throw new PromQLExecutionError(`expected scalar, got ${v.kind}`)
    return v
  }

  async evalMatrix(e: Expr, g: Grid, hints: HintContext = {}): Promise<MatrixValue> {
    const v = await this.eval(e, g, hints)
    if (v.kind !== 'matrix') throw new PromQLExecutionError(`expected range vector, got ${v.kind}`)
    return v
  }

  /** Per step: the time a selector reads at, after `@` and offset. */
  private readTimes(g: Grid, at: AtModifier | undefined, offset: number): Float64Array {
    const fixed = this.atTime(at)
    const out = new Float64Array(g.n)
    for (let i = 0; i < g.n; i++) out[i] = (fixed ?? stepTime(g, i)) - offset
    return out
  }

  private async select(matchers: readonly LabelMatcher[], start: number, end: number, g: Grid, range: number, hints: HintContext) {
    const h: SelectHints = {
      start, end, step: g.step, range, lookbackDelta: this.opts.lookbackDelta,
      ...(hints.func !== undefined ? { func: hints.func } : {}),
      ...(hints.grouping !== undefined ? { grouping: hints.grouping, by: hints.by } : {}),
      ...(this.opts.rawOnly !== undefined ? { rawOnly: this.opts.rawOnly } : {}),
    }
    const data = await this.opts.querier.select(matchers, h, this.opts.signal)
    this.checkAbort()
    return data
  }

  /**
   * Instant-vector selector: per step the newest sample in (t - lookback, t], unless that
   * sample is a staleness marker. With `timestamps`, the value is the sample's own time in
   * seconds (what timestamp() of a selector returns).
   */
  async vectorSelector(e: VectorSelector, g: Grid, hints: HintContext, timestamps: boolean): Promise<VectorValue> {
    if (g.n === 0) return { kind: 'vector', series: [] }
    const times = this.readTimes(g, e.at, e.offset)
    let lo = Infinity, hi = -Infinity
    for (const t of times) { if (t < lo) lo = t; if (t > hi) hi = t }
    const lookback = this.opts.lookbackDelta
    const closed = this.opts.closedWindows === true
    const data = await this.select(e.matchers, lo - lookback + (closed ? 0 : 1), hi, g, 0, hints)
    const out: VSeries[] = []
    let points = 0
    for (const sd of data) {
      await this.yieldIfBusy()
      this.checkAbort()
      const s = VSeries.empty(sd.labels, false, g.n)
      const ts = sd.timestamps, vs = sd.values, stale = sd.stale
      const len = ts.length
      let any = false
      // Read times never decrease along the grid (constant under `@`), so one cursor suffices.
      let j = -1
      for (let i = 0; i < g.n; i++) {
        const t = times[i]
        if (i > 0 && t === times[i - 1]) {
          s.values[i] = s.values[i - 1]
          s.present[i] = s.present[i - 1]
          if (s.present[i]) points++
          continue
        }
        while (j + 1 < len && ts[j + 1] <= t) j++
        if (j < 0 || (closed ? ts[j] < t - lookback : ts[j] <= t - lookback)) continue
        if (stale && stale[j]) continue
        s.values[i] = timestamps ? ts[j] / 1000 : vs[j]
        s.present[i] = 1
        any = true
        points++
      }
      if (any) out.push(s)
    }
    this.addSamples(points)
    return { kind: 'vector', series: out }
  }

  async matrixSelector(e: MatrixSelector, g: Grid, hints: HintContext): Promise<MatrixValue> {
    const sel = e.selector
    const windowEnd = this.readTimes(g, sel.at, sel.offset)
    if (g.n === 0) return { kind: 'matrix', series: [], range: e.range, windowEnd }
    let lo = Infinity, hi = -Infinity
    for (const t of windowEnd) { if (t < lo) lo = t; if (t > hi) hi = t }
    const closedLeft = this.opts.closedWindows === true
    const data = await this.select(sel.matchers, lo - e.range + (closedLeft ? 0 : 1), hi, g, e.range, hints)
    const series: MSeries[] = []
    for (const sd of data) {
      const stale = sd.stale
      const n = sd.timestamps.length
      let keep = 0
      for (let k = 0; k < n; k++) if (!(stale && stale[k])) keep++
      const ts = new Float64Array(keep), vs = new Float64Array(keep)
      const counts = sd.counts
      const countSums = counts ? new Float64Array(keep + 1) : undefined
      let w = 0
      for (let k = 0; k < n; k++) {
        if (stale && stale[k]) continue
        ts[w] = sd.timestamps[k]
        vs[w] = sd.values[k]
        if (countSums) countSums[w + 1] = countSums[w] + counts![k]
        w++
      }
      series.push(countSums ? { labels: sd.labels, dropName: false, ts, vs, countSums } : { labels: sd.labels, dropName: false, ts, vs })
    }
    return { kind: 'matrix', series, range: e.range, windowEnd, closedLeft }
  }

  async subquery(e: SubqueryExpr, g: Grid, hints: HintContext): Promise<MatrixValue> {
    const windowEnd = this.readTimes(g, e.at, e.offset)
    if (g.n === 0) return { kind: 'matrix', series: [], range: e.range, windowEnd }
    let lo = Infinity, hi = -Infinity
    for (const t of windowEnd) { if (t < lo) lo = t; if (t > hi) hi = t }
    const step = e.step > 0 ? e.step : this.opts.defaultSubqueryStep
    // First step-aligned time after the earliest window start (Go truncating division).
    const from = lo - e.range
    let start = step * Math.trunc(from / step)
    const closedLeft = this.opts.closedWindows === true
    if (closedLeft ? start < from : start <= from) start += step
    const inner = gridOf(start, hi, step)
    // Every step of the inner grid holds at least one point per series: refuse before allocating.
    if (inner.n > this.opts.maxSamples) {
      throw new PromQLExecutionError('query processing would load too many samples into memory in subquery evaluation')
    }
    const v = await this.evalVector(e.expr, inner, hints)
    const series: MSeries[] = []
    for (const s of v.series) {
      let cnt = 0
      for (let i = 0; i < inner.n; i++) if (s.present[i]) cnt++
      const ts = new Float64Array(cnt), vs = new Float64Array(cnt)
      let w = 0
      for (let i = 0; i < inner.n; i++) {
        if (!s.present[i]) continue
        ts[w] = stepTime(inner, i)
        vs[w] = s.values[i]
        w++
      }
      series.push({ labels: s.labels, dropName: s.dropName, ts, vs })
    }
    return { kind: 'matrix', series, range: e.range, windowEnd, closedLeft }
  }
}

/** Node kinds the engine offers to Querier.evaluate (instant-vector producers). */
const OFFERED = new Set<Expr['type']>(['VectorSelector', 'Call', 'AggregateExpr', 'BinaryExpr'])

/**
 * rate/increase's "might not be a counter" note for a subtree storage evaluated: from the
 * result's names when they are still there, else from the selector's pinned name (the
 * Querier.evaluate contract), once the subtree produced anything.
 */
function counterInfos(ev: Evaluator, e: Expr, result: readonly VSeries[]): void {
  if (result.length === 0) return
  const visit = (x: Expr): void => {
    switch (x.type) {
      case 'Call': {
        if (x.func === 'rate' || x.func === 'increase') {
          const arg = x.args[0]
          if (arg?.type === 'MatrixSelector') {
            const pinned = arg.selector.matchers.find((m) => m.name === '__name__' && m.type === '=')?.value
            const names = x === e ? result.map((s) => s.labels.__name__) : [pinned]
            for (const name of names) nonCounterInfo(ev, name, arg.pos)
          }
        }
        x.args.forEach(visit)
        return
      }
      case 'AggregateExpr': visit(x.expr); if (x.param) visit(x.param); return
      case 'BinaryExpr': visit(x.lhs); visit(x.rhs); return
      case 'ParenExpr': case 'UnaryExpr': visit(x.expr); return
      default: return
    }
  }
  visit(e)
}

/** Removes `__name__` where an operation dropped it; identical series merge, or fail if they overlap. */
function dropNamesNow(v: VectorValue, g: Grid): VectorValue {
  if (!v.series.some((s) => s.dropName)) return v
  const byKey = new Map<string, VSeries>()
  const out: VSeries[] = []
  for (const s of v.series) {
    const t = s.dropName ? new VSeries(dropNameLabel(s.labels), false, s.values, s.present) : s
    const prev = byKey.get(t.key)
    if (!prev) {
      byKey.set(t.key, t)
      out.push(t)
      continue
    }
    const merged = VSeries.empty(prev.labels, false, g.n)
    for (let i = 0; i < g.n; i++) {
      if (prev.present[i] && t.present[i]) throw new PromQLExecutionError('vector cannot contain metrics with the same labelset')
      if (prev.present[i] || t.present[i]) {
        merged.present[i] = 1
        merged.values[i] = prev.present[i] ? prev.values[i] : t.values[i]
      }
    }
    byKey.set(t.key, merged)
    out[out.indexOf(prev)] = merged
  }
  return { kind: 'vector', series: out }
}

/**
 * Calls `fn(series, lo, hi, step)` for every step where the series has samples in the
 * window (windowEnd - range, windowEnd]: indices [lo, hi) into series.ts. Windows move
 * forward monotonically, so each series is scanned once.
 */
export function forEachWindow(m: MatrixValue, s: MSeries, fn: (lo: number, hi: number, step: number) => void): void {
  const ts = s.ts
  let lo = 0, hi = 0
  const n = m.windowEnd.length
  for (let i = 0; i < n; i++) {
    const end = m.windowEnd[i]
    const start = end - m.range
    if (i > 0 && end < m.windowEnd[i - 1]) { lo = 0; hi = 0 }
    while (hi < ts.length && ts[hi] <= end) hi++
    while (lo < hi && (m.closedLeft ? ts[lo] < start : ts[lo] <= start)) lo++
    if (hi > lo) fn(lo, hi, i)
  }
}
