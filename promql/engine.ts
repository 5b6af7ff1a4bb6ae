/**
 * createEngine: the PromQLEngine of api.ts. Parses, checks limits, evaluates over a step
 * grid (an instant query is a grid of one step) and shapes the result as Prometheus's API
 * does: instant vectors keep evaluation order, range results are sorted by labels, and
 * `__name__` is removed at the very end from series whose last operation dropped it
 * (Prometheus 3.5's delayed name removal).
 */
import type { Labels, Point, PromQLEngine, QueryOptions, QueryResult, QueryValue, Querier } from './api.js'
import { PromQLCanceledError, PromQLExecutionError, PromQLParseError, PromQLTimeoutError } from './api.js'
import type { Expr, PosRange } from './ast.js'
import { Evaluator } from './eval/evaluator.js'
import { compareLabels } from './eval/functions.js'
import type { Grid, Value, VSeries } from './eval/values.js'
import { dropNameLabel, gridOf, labelsKey, stepTime } from './eval/values.js'
import { documentedType, parsePromQL, typeOf } from './parser.js'

export interface EngineOptions {
  /** How far back an instant selector looks for a sample (ms). Default 5m. */
  readonly lookbackDelta?: number
  /** Points an evaluation may hold; more is a PromQLExecutionError. Default 50,000,000. */
  readonly maxSamples?: number
  /** Step of a subquery written without one (`x[1h:]`), ms. Default 1m. */
  readonly defaultSubqueryStep?: number
  /** Evaluation deadline in ms (0 = none). Default 2m. */
  readonly timeoutMs?: number
  /** Points per series a range query may produce (Prometheus's API limit). Default 11,000. */
  readonly maxPointsPerSeries?: number
  /** Allow Prometheus's experimental functions. Default true. */
  readonly experimentalFunctions?: boolean
  /** Allow duration arithmetic (`[1h/2]`, `offset (1m+30s)`). Default true. */
  readonly durationExpressions?: boolean
  /**
   * Prometheus 3.5's delayed `__name__` removal (what its conformance tests assume). Default
   * true; false gives a Prometheus server's default (names dropped at once).
   */
  readonly delayedNameRemoval?: boolean
  /**
   * Prometheus 2's windows, closed on the left: an instant selector's lookback and a range
   * selector's window are [t - d, t], not Prometheus 3's (t - d, t]. Default false. Only for
   * telling a user why a verdict differs from promtool 2.x (`rules test`).
   */
  readonly closedWindows?: boolean
}

const DEFAULTS = {
  lookbackDelta: 5 * 60_000,
  maxSamples: 50_000_000,
  defaultSubqueryStep: 60_000,
  timeoutMs: 120_000,
  maxPointsPerSeries: 11_000,
}

/** Parsed queries an engine keeps (a rule set is a few thousand texts at most). */
const PARSE_CACHE_ENTRIES = 10_000

export function createEngine(options: EngineOptions = {}): PromQLEngine {
  const cfg = { ...DEFAULTS, ...stripUndefined(options) }

  // The ruler and `rules test` run the same rule texts at every evaluation; parsing was a fifth
  // of `rules test` on kubernetes-mixin's tests (bench/README.md). The tree is never mutated by
  // evaluation, so one parse serves every run. Bounded: a flood of distinct queries clears it.
  const parsed = new Map<string, Expr>()
  const parse = (query: string): Expr => {
    let expr = parsed.get(query)
    if (expr === undefined) {
      expr = parsePromQL(query, { experimentalFunctions: options.experimentalFunctions, durationExpressions: options.durationExpressions })
      if (parsed.size >= PARSE_CACHE_ENTRIES) parsed.clear()
      parsed.set(query, expr)
    }
    return expr
  }

  async function run(querier: Querier, query: string, start: number, end: number, step: number, isRange: boolean, opts: QueryOptions): Promise<QueryResult> {
    const expr = parse(query)
    const type = typeOf(expr)
    if (isRange && type !== 'scalar' && type !== 'vector') {
      throw new PromQLParseError(`invalid expression type ${JSON.stringify(documentedType(type))} for range query, must be Scalar or instant Vector`)
    }
    const { signal, cleanup, timedOut } = deadline(opts.signal, cfg.timeoutMs)
    try {
      const ev = new Evaluator({
        querier: querier.forQuery?.({ start, end }) ?? querier,
        lookbackDelta: opts.lookbackDelta ?? cfg.lookbackDelta,
        defaultSubqueryStep: cfg.defaultSubqueryStep,
        maxSamples: cfg.maxSamples,
        rawOnly: opts.rawOnly,
        signal,
        queryStart: start,
        queryEnd: end,
        timedOut,
        delayedNameRemoval: options.delayedNameRemoval ?? true,
        closedWindows: options.closedWindows ?? false,
        ...(cfg.timeoutMs > 0 ? { deadlineAt: Date.now() + cfg.timeoutMs } : {}),
      })
      const grid = isRange ? gridOf(start, end, step) : gridOf(start, start, 0)
      const v = await evaluateTop(ev, expr, grid)
      const value = isRange ? toRangeResult(v, grid) : toInstantResult(v, start)
      return { value, warnings: annotationTexts(query, ev.warnings), infos: annotationTexts(query, ev.infos) }
    } catch (e) {
      if (signal.aborted && !(e instanceof PromQLTimeoutError || e instanceof PromQLCanceledError)) {
        if (timedOut()) throw new PromQLTimeoutError('query timed out in expression evaluation')
        throw new PromQLCanceledError('query was canceled in expression evaluation')
      }
      throw e
    } finally {
      cleanup()
    }
  }

  return {
    instantQuery(querier, query, time, opts = {}) {
      return run(querier, query, time, time, 0, false, opts)
    },
    rangeQuery(querier, query, start, end, step, opts = {}) {
      if (end < start) return Promise.reject(new PromQLParseError('end timestamp must not be before start time'))
      if (!(step > 0)) return Promise.reject(new PromQLParseError('zero or negative query resolution step widths are not accepted. Try a positive integer'))
      // Go divides durations as integers: only whole steps count.
      if (Math.floor((end - start) / step) > cfg.maxPointsPerSeries) {
        return Promise.reject(new PromQLParseError(`exceeded maximum resolution of ${cfg.maxPointsPerSeries.toLocaleString('en-US')} points per timeseries. Try decreasing the query resolution (?step=XX)`))
      }
      return run(querier, query, start, end, step, true, opts)
    },
  }
}

/** Annotation texts as Prometheus's API shows them: the message, then ` (line:col)` of the culprit. */
function annotationTexts(query: string, notes: ReadonlyMap<string, PosRange | undefined>): string[] {
  return [...notes].map(([msg, pos]) => (pos ? `${msg} (${lineCol(query, pos.start)})` : msg))
}

function lineCol(input: string, offset: number): string {
  let line = 1
  let lastBreak = -1
  for (let i = 0; i < offset && i < input.length; i++) {
    if (input[i] === '\n') { line++; lastBreak = i }
  }
  return `${line}:${offset - lastBreak}`
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** One signal for the caller's abort and the engine's deadline; timedOut() tells them apart. */
function deadline(outer: AbortSignal | undefined, timeoutMs: number): { signal: AbortSignal; cleanup: () => void; timedOut: () => boolean } {
  const ctl = new AbortController()
  let fired = false
  const timer = timeoutMs > 0 ? setTimeout(() => { fired = true; ctl.abort() }, timeoutMs) : undefined
  const onAbort = (): void => ctl.abort()
  if (outer) {
    if (outer.aborted) ctl.abort()
    else outer.addEventListener('abort', onAbort, { once: true })
  }
  return {
    signal: ctl.signal,
    timedOut: () => fired,
    cleanup: () => {
      if (timer) clearTimeout(timer)
      outer?.removeEventListener('abort', onAbort)
    },
  }
}

async function evaluateTop(ev: Evaluator, expr: Expr, grid: Grid): Promise<Value> {
  ev.checkAbort()
  return ev.eval(expr, grid)
}

function finalLabels(labels: Labels, dropName: boolean): Labels {
  return dropName ? dropNameLabel(labels) : labels
}

function toInstantResult(v: Value, t: number): QueryValue {
  switch (v.kind) {
    case 'scalar': return { type: 'scalar', t, v: v.values[0] }
    case 'string': return { type: 'string', t, v: v.value }
    case 'vector': {
      const samples = v.series.filter((s) => s.present[0]).map((s) => ({ labels: finalLabels(s.labels, s.dropName), t, v: s.values[0] }))
      const seen = new Set<string>()
      for (const s of samples) {
        const k = labelsKey(s.labels)
        if (seen.has(k)) throw new PromQLExecutionError('vector cannot contain metrics with the same labelset')
        seen.add(k)
      }
      return { type: 'vector', samples }
    }
    case 'matrix': {
      const end = v.windowEnd[0]
      const series = v.series.map((s) => {
        const points: Point[] = []
        for (let k = 0; k < s.ts.length; k++) {
          if (s.ts[k] > end - v.range && s.ts[k] <= end) points.push({ t: s.ts[k], v: s.vs[k] })
        }
        return { labels: finalLabels(s.labels, s.dropName), points }
      }).filter((s) => s.points.length > 0)
      return { type: 'matrix', series }
    }
  }
}

function toRangeResult(v: Value, g: Grid): QueryValue {
  if (v.kind === 'scalar') {
    const points: Point[] = []
    for (let i = 0; i < g.n; i++) points.push({ t: stepTime(g, i), v: v.values[i] })
    return { type: 'matrix', series: [{ labels: {}, points }] }
  }
  if (v.kind !== 'vector') throw new PromQLExecutionError(`invalid expression type ${JSON.stringify(v.kind)} for range query`)
  // Series that end up with the same labels once names are dropped are merged; overlaps are an error.
  const byKey = new Map<string, { labels: Labels; parts: VSeries[] }>()
  for (const s of v.series) {
    const labels = finalLabels(s.labels, s.dropName)
    const key = labels === s.labels ? s.key : labelsKey(labels)
    const entry = byKey.get(key)
    if (entry) entry.parts.push(s)
    else byKey.set(key, { labels, parts: [s] })
  }
  const series: { labels: Labels; points: Point[] }[] = []
  for (const { labels, parts } of byKey.values()) {
    const points: Point[] = []
    for (let i = 0; i < g.n; i++) {
      let found = false
      for (const p of parts) {
        if (!p.present[i]) continue
        if (found) throw new PromQLExecutionError('vector cannot contain metrics with the same labelset')
        found = true
        points.push({ t: stepTime(g, i), v: p.values[i] })
      }
    }
    if (points.length > 0) series.push({ labels, points })
  }
  series.sort((a, b) => compareLabels(a.labels, b.labels))
  return { type: 'matrix', series }
}
