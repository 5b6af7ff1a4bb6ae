/**
 * PromQL functions. Range-vector functions slide a window over each series (see
 * forEachWindow); instant-vector functions map values per step. Float rules follow
 * Prometheus 3.5's functions.go (extrapolation of rate/increase/delta, Kahan sums,
 * regression for deriv/predict_linear). Native histograms are not supported.
 */
import type { Labels } from '../api.js'
import { PromQLExecutionError } from '../api.js'
import type { Call, Expr, PosRange, VectorSelector } from '../ast.js'
import { formatGoG } from '../format.js'
import { compileAnchored } from '../regex.js'
import type { Evaluator } from './evaluator.js'
import { forEachWindow } from './evaluator.js'
import { histogramFraction, histogramQuantile } from './histogram-quantile.js'
import { quantile } from './aggregate.js'
import type { Grid, MatrixValue, Value, VectorValue } from './values.js'
import { kahan, kahanAdd, stepTime, VSeries } from './values.js'

function unwrapParens(e: Expr): Expr {
  while (e.type === 'ParenExpr') e = e.expr
  return e
}

// ---- range-vector functions ------------------------------------------------------------

/** One window of one series; a single object is reused for every window (no per-step garbage). */
interface WindowCtx {
  ts: Float64Array
  vs: Float64Array
  /** MSeries.countSums: samples the points stand for (rollup points), if not one each. */
  countSums: Float64Array | undefined
  lo: number
  hi: number
  /** Window end (ms) and range (ms). */
  end: number
  range: number
  /** Per-step scalar arguments other than the range vector. */
  readonly args: number[]
  stepT: number
}

type WindowFn = (w: WindowCtx) => number | undefined

function extrapolatedRate(w: WindowCtx, isCounter: boolean, isRate: boolean): number | undefined {
  const { ts, vs, lo, hi } = w
  if (hi - lo < 2) return undefined
  // The samples the window holds: points, or the samples rollup points stand for.
  const n = w.countSums ? w.countSums[hi] - w.countSums[lo] : hi - lo
  if (n < 2) return undefined
  const rangeStart = w.end - w.range
  const rangeEnd = w.end
  let result = vs[hi - 1] - vs[lo]
  if (isCounter) {
    for (let k = lo + 1; k < hi; k++) if (vs[k] < vs[k - 1]) result += vs[k - 1]
  }
  const firstT = ts[lo], lastT = ts[hi - 1]
  let durationToStart = (firstT - rangeStart) / 1000
  let durationToEnd = (rangeEnd - lastT) / 1000
  const sampledInterval = (lastT - firstT) / 1000
  const avgBetween = sampledInterval / (n - 1)
  const threshold = avgBetween * 1.1
  if (durationToStart >= threshold) durationToStart = avgBetween / 2
  if (isCounter && result > 0 && vs[lo] >= 0) {
    const durationToZero = sampledInterval * (vs[lo] / result)
    if (durationToZero < durationToStart) durationToStart = durationToZero
  }
  if (durationToEnd >= threshold) durationToEnd = avgBetween / 2
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval
  if (isRate) factor /= w.range / 1000
  return result * factor
}

function instantValue(w: WindowCtx, isRate: boolean): number | undefined {
  const { ts, vs, lo, hi } = w
  if (hi - lo < 2) return undefined
  const t1 = ts[hi - 1], t0 = ts[hi - 2]
  const v1 = vs[hi - 1], v0 = vs[hi - 2]
  const interval = t1 - t0
  if (interval === 0) return undefined
  let result = v1
  if (!isRate || !(v1 < v0)) result = v1 - v0
  if (isRate) result /= interval / 1000
  return result
}

function linearRegression(ts: Float64Array, vs: Float64Array, lo: number, hi: number, interceptTime: number): [number, number] {
  let n = 0, sumX = 0, cX = 0, sumY = 0, cY = 0, sumXY = 0, cXY = 0, sumX2 = 0, cX2 = 0
  const initY = vs[lo]
  let constY = true
  for (let k = lo; k < hi; k++) {
    const v = vs[k]
    if (constY && k > lo && v !== initY) constY = false
    n += 1
    const x = (ts[k] - interceptTime) / 1000
    sumX = kahanAdd(x, sumX, cX); cX = kahan.c
    sumY = kahanAdd(v, sumY, cY); cY = kahan.c
    sumXY = kahanAdd(x * v, sumXY, cXY); cXY = kahan.c
    sumX2 = kahanAdd(x * x, sumX2, cX2); cX2 = kahan.c
  }
  if (constY) {
    if (!Number.isFinite(initY) && !Number.isNaN(initY)) return [NaN, NaN]
    return [0, initY]
  }
  sumX += cX; sumY += cY; sumXY += cXY; sumX2 += cX2
  const covXY = sumXY - sumX * sumY / n
  const varX = sumX2 - sumX * sumX / n
  const slope = covXY / varX
  const intercept = sumY / n - slope * sumX / n
  return [slope, intercept]
}

function variance(vs: Float64Array, lo: number, hi: number): number {
  let count = 0, mean = 0, cMean = 0, aux = 0, cAux = 0
  for (let k = lo; k < hi; k++) {
    const f = vs[k]
    count++
    const delta = f - (mean + cMean)
    mean = kahanAdd(delta / count, mean, cMean); cMean = kahan.c
    aux = kahanAdd(delta * (f - (mean + cMean)), aux, cAux); cAux = kahan.c
  }
  return (aux + cAux) / count
}

function avgOverTime(vs: Float64Array, lo: number, hi: number): number {
  let sum = vs[lo], count = 1, mean = 0, c = 0, incremental = false
  for (let k = lo + 1; k < hi; k++) {
    const f = vs[k]
    count = k - lo + 1
    if (!incremental) {
      const ns = kahanAdd(f, sum, c), nc = kahan.c
      if (ns !== Infinity && ns !== -Infinity) { sum = ns; c = nc; continue }
      incremental = true
      mean = sum / (count - 1)
      c /= count - 1
    }
    const q = (count - 1) / count
    mean = kahanAdd(f / count, q * mean, q * c); c = kahan.c
  }
  if (incremental) return mean + c
  return sum / count + c / count
}

function windowValues(w: WindowCtx): number[] {
  return Array.from(w.vs.subarray(w.lo, w.hi))
}

const RANGE_FUNCTIONS: Record<string, WindowFn> = {
  rate: (w) => extrapolatedRate(w, true, true),
  increase: (w) => extrapolatedRate(w, true, false),
  delta: (w) => extrapolatedRate(w, false, false),
  irate: (w) => instantValue(w, true),
  idelta: (w) => instantValue(w, false),
  avg_over_time: (w) => avgOverTime(w.vs, w.lo, w.hi),
  sum_over_time: (w) => {
    let sum = 0, c = 0
    for (let k = w.lo; k < w.hi; k++) { sum = kahanAdd(w.vs[k], sum, c); c = kahan.c }
    return sum === Infinity || sum === -Infinity ? sum : sum + c
  },
  count_over_time: (w) => w.hi - w.lo,
  min_over_time: (w) => {
    let m = w.vs[w.lo]
    for (let k = w.lo + 1; k < w.hi; k++) { const v = w.vs[k]; if (v < m || Number.isNaN(m)) m = v }
    return m
  },
  max_over_time: (w) => {
    let m = w.vs[w.lo]
    for (let k = w.lo + 1; k < w.hi; k++) { const v = w.vs[k]; if (v > m || Number.isNaN(m)) m = v }
    return m
  },
  last_over_time: (w) => w.vs[w.hi - 1],
  first_over_time: (w) => w.vs[w.lo],
  present_over_time: () => 1,
  stddev_over_time: (w) => Math.sqrt(variance(w.vs, w.lo, w.hi)),
  stdvar_over_time: (w) => variance(w.vs, w.lo, w.hi),
  quantile_over_time: (w) => quantile(w.args[0], windowValues(w)),
  mad_over_time: (w) => {
    const vals = windowValues(w)
    if (vals.some(Number.isNaN)) return NaN
    const median = quantile(0.5, vals)
    return quantile(0.5, vals.map((v) => Math.abs(v - median)))
  },
  ts_of_min_over_time: (w) => {
    let m = w.vs[w.lo], t = w.ts[w.lo]
    for (let k = w.lo + 1; k < w.hi; k++) { const v = w.vs[k]; if (v <= m || Number.isNaN(m)) { m = v; t = w.ts[k] } }
    return t / 1000
  },
  ts_of_max_over_time: (w) => {
    let m = w.vs[w.lo], t = w.ts[w.lo]
    for (let k = w.lo + 1; k < w.hi; k++) { const v = w.vs[k]; if (v >= m || Number.isNaN(m)) { m = v; t = w.ts[k] } }
    return t / 1000
  },
  ts_of_last_over_time: (w) => w.ts[w.hi - 1] / 1000,
  ts_of_first_over_time: (w) => w.ts[w.lo] / 1000,
  changes: (w) => {
    let c = 0
    for (let k = w.lo + 1; k < w.hi; k++) {
      const a = w.vs[k - 1], b = w.vs[k]
      if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) c++
    }
    return c
  },
  resets: (w) => {
    let c = 0
    for (let k = w.lo + 1; k < w.hi; k++) if (w.vs[k] < w.vs[k - 1]) c++
    return c
  },
  deriv: (w) => (w.hi - w.lo < 2 ? undefined : linearRegression(w.ts, w.vs, w.lo, w.hi, w.ts[w.lo])[0]),
  predict_linear: (w) => {
    if (w.hi - w.lo < 2) return undefined
    const [slope, intercept] = linearRegression(w.ts, w.vs, w.lo, w.hi, w.stepT)
    return slope * w.args[0] + intercept
  },
  double_exponential_smoothing: (w) => {
    const sf = w.args[0], tf = w.args[1]
    if (!(sf > 0 && sf < 1) || !(tf > 0 && tf < 1)) {
      throw new PromQLExecutionError(!(sf > 0 && sf < 1)
        ? `invalid smoothing factor. Expected: 0 < sf < 1, got: ${formatGoG(sf)}`
        : `invalid trend factor. Expected: 0 < tf < 1, got: ${formatGoG(tf)}`)
    }
    const n = w.hi - w.lo
    if (n < 2) return undefined
    const v = w.vs
    let s0 = 0, s1 = v[w.lo], b = v[w.lo + 1] - v[w.lo]
    for (let k = 1; k < n; k++) {
      const x = sf * v[w.lo + k]
      b = k === 1 ? b : tf * (s1 - s0) + (1 - tf) * b
      s0 = s1
      s1 = x + (1 - sf) * (s0 + b)
    }
    return s1
  },
}

async function evalRangeFunction(ev: Evaluator, e: Call, g: Grid): Promise<VectorValue> {
  const fn = RANGE_FUNCTIONS[e.func]
  const matrixIdx = e.args.findIndex((a) => {
    const u = unwrapParens(a)
    return u.type === 'MatrixSelector' || u.type === 'SubqueryExpr'
  })
  const scalarArgs: Float64Array[] = []
  for (let i = 0; i < e.args.length; i++) {
    if (i === matrixIdx) continue
    scalarArgs.push((await ev.evalScalar(e.args[i], g)).values)
  }
  if (e.func === 'quantile_over_time') {
    for (let i = 0; i < g.n; i++) {
      const q = scalarArgs[0][i]
      if (Number.isNaN(q) || q < 0 || q > 1) ev.warn(`PromQL warning: quantile value should be between 0 and 1, got ${formatGoG(q)}`, e.args[0].pos)
    }
  }
  const m = await ev.evalMatrix(e.args[matrixIdx], g, { func: e.func })
  // Prometheus 3.5: every range function but last_over_time (which acts like offset) drops the name.
  const dropName = e.func !== 'last_over_time'
  const out: VSeries[] = []
  const w: WindowCtx = { ts: new Float64Array(0), vs: new Float64Array(0), countSums: undefined, lo: 0, hi: 0, end: 0, range: m.range, args: new Array(scalarArgs.length).fill(0), stepT: 0 }
  let points = 0
  for (const s of m.series) {
    ev.checkAbort()
    const r = VSeries.empty(s.labels, dropName, g.n)
    let any = false
    w.ts = s.ts
    w.vs = s.vs
    w.countSums = s.countSums
    forEachWindow(m, s, (lo, hi, i) => {
      points += hi - lo
      for (let a = 0; a < scalarArgs.length; a++) w.args[a] = scalarArgs[a][i]
      w.lo = lo
      w.hi = hi
      w.end = m.windowEnd[i]
      w.stepT = stepTime(g, i)
      const v = fn(w)
      if (v === undefined) return
      r.values[i] = v
      r.present[i] = 1
      any = true
    })
    if (any) {
      out.push(r)
      if (e.func === 'rate' || e.func === 'increase') nonCounterInfo(ev, s.labels.__name__, e.args[matrixIdx].pos)
    }
  }
  ev.addSamples(points)
  return { kind: 'vector', series: out }
}

export function nonCounterInfo(ev: Evaluator, name: string | undefined, pos: PosRange): void {
  if (name && !/(_total|_sum|_count|_bucket)$/.test(name)) {
    ev.info(`PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${JSON.stringify(name)}`, pos)
  }
}

// ---- absent ----------------------------------------------------------------------------

function labelsForAbsent(arg: Expr): Labels {
  const u = unwrapParens(arg)
  let sel: VectorSelector | undefined
  if (u.type === 'VectorSelector') sel = u
  else if (u.type === 'MatrixSelector') sel = u.selector
  if (!sel) return {}
  const out: Record<string, string> = {}
  const has = new Set<string>()
  for (const m of sel.matchers) {
    if (m.name === '__name__') continue
    if (m.type === '=' && !has.has(m.name)) {
      out[m.name] = m.value
      has.add(m.name)
    } else {
      delete out[m.name]
    }
  }
  return out
}

// ---- instant-vector functions ----------------------------------------------------------

function mapVector(v: VectorValue, g: Grid, fn: (x: number, i: number) => number, dropName = true): VectorValue {
  return {
    kind: 'vector',
    series: v.series.map((s) => {
      const values = new Float64Array(g.n)
      for (let i = 0; i < g.n; i++) if (s.present[i]) values[i] = fn(s.values[i], i)
      return new VSeries(s.labels, s.dropName || dropName, values, s.present)
    }),
  }
}

const MATH: Record<string, (x: number) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sgn: (x) => (x < 0 ? -1 : x > 0 ? 1 : x),
  acos: Math.acos, acosh: Math.acosh, asin: Math.asin, asinh: Math.asinh, atan: Math.atan, atanh: Math.atanh,
  cos: Math.cos, cosh: Math.cosh, sin: Math.sin, sinh: Math.sinh, tan: Math.tan, tanh: Math.tanh,
  deg: (x) => x * 180 / Math.PI,
  rad: (x) => x * Math.PI / 180,
}

const DATE: Record<string, (d: Date) => number> = {
  days_in_month: (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(),
  day_of_month: (d) => d.getUTCDate(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_year: (d) => Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000) + 1,
  hour: (d) => d.getUTCHours(),
  minute: (d) => d.getUTCMinutes(),
  month: (d) => d.getUTCMonth() + 1,
  year: (d) => d.getUTCFullYear(),
}

function naturalLess(a: string, b: string): boolean {
  const re = /(\d+|\D+)/g
  const pa = a.match(re) ?? [], pb = b.match(re) ?? []
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i], y = pb[i]
    if (x === y) continue
    const nx = /^\d/.test(x), ny = /^\d/.test(y)
    if (nx && ny) {
      const dx = Number(x), dy = Number(y)
      if (dx !== dy) return dx < dy
      return x.length < y.length
    }
    return x < y
  }
  return pa.length < pb.length
}

export function compareLabels(a: Labels, b: Labels): number {
  const ka = Object.keys(a).sort(), kb = Object.keys(b).sort()
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1
    const va = a[ka[i]], vb = b[kb[i]]
    if (va !== vb) return va < vb ? -1 : 1
  }
  return ka.length - kb.length
}

/** Go's regexp.Expand template syntax: $1, ${1}, $name, ${name}, $$. */
function expandTemplate(template: string, groups: (string | null)[], named: Record<string, number>): string {
  let out = ''
  for (let i = 0; i < template.length; i++) {
    const c = template[i]
    if (c !== '$') { out += c; continue }
    const rest = template.slice(i + 1)
    if (rest.startsWith('$')) { out += '$'; i++; continue }
    let name: string | undefined
    let len = 0
    const braced = /^\{([A-Za-z0-9_]+)\}/.exec(rest)
    if (braced) { name = braced[1]; len = braced[0].length } else {
      const plain = /^[A-Za-z0-9_]+/.exec(rest)
      if (plain) { name = plain[0]; len = plain[0].length }
    }
    if (name === undefined) { out += '$'; continue }
    i += len
    let idx: number | undefined
    if (/^\d+$/.test(name)) idx = Number(name)
    else idx = named[name]
    if (idx !== undefined && idx < groups.length) out += groups[idx] ?? ''
  }
  return out
}

function validLabelName(n: string): boolean {
  return n.length > 0 && !n.includes('\ufffd')
}

function stringArg(e: Expr): string {
  const u = unwrapParens(e)
  if (u.type !== 'StringLiteral') throw new PromQLExecutionError('expected a string literal argument')
  return u.value
}

function duplicateCheck(series: VSeries[]): void {
  const seen = new Set<string>()
  for (const s of series) {
    if (seen.has(s.key)) throw new PromQLExecutionError('vector cannot contain metrics with the same labelset')
    seen.add(s.key)
  }
}

export async function evalCall(ev: Evaluator, e: Call, g: Grid): Promise<Value> {
  const name = e.func
  if (name in RANGE_FUNCTIONS) return evalRangeFunction(ev, e, g)
  switch (name) {
    case 'time': {
      const v = new Float64Array(g.n)
      for (let i = 0; i < g.n; i++) v[i] = stepTime(g, i) / 1000
      return { kind: 'scalar', values: v }
    }
    case 'pi':
      return { kind: 'scalar', values: new Float64Array(g.n).fill(Math.PI) }
    case 'scalar': {
      const v = await ev.evalVector(e.args[0], g, { func: e.func })
      const out = new Float64Array(g.n)
      for (let i = 0; i < g.n; i++) {
        let cnt = 0, val = NaN
        for (const s of v.series) if (s.present[i]) { cnt++; val = s.values[i] }
        out[i] = cnt === 1 ? val : NaN
      }
      return { kind: 'scalar', values: out }
    }
    case 'vector': {
      const sc = await ev.evalScalar(e.args[0], g)
      return { kind: 'vector', series: [new VSeries({}, false, sc.values, new Uint8Array(g.n).fill(1))] }
    }
    case 'absent': {
      const v = await ev.evalVector(e.args[0], g, { func: e.func })
      const r = VSeries.empty(labelsForAbsent(e.args[0]), true, g.n)
      for (let i = 0; i < g.n; i++) {
        if (!v.series.some((s) => s.present[i])) { r.values[i] = 1; r.present[i] = 1 }
      }
      return { kind: 'vector', series: r.present.includes(1) ? [r] : [] }
    }
    case 'absent_over_time': {
      const m: MatrixValue = await ev.evalMatrix(e.args[0], g, { func: name })
      const has = new Uint8Array(g.n)
      for (const s of m.series) forEachWindow(m, s, (_lo, _hi, i) => { has[i] = 1 })
      const r = VSeries.empty(labelsForAbsent(e.args[0]), true, g.n)
      for (let i = 0; i < g.n; i++) if (!has[i]) { r.values[i] = 1; r.present[i] = 1 }
      return { kind: 'vector', series: r.present.includes(1) ? [r] : [] }
    }
    case 'timestamp': {
      const arg = unwrapParens(e.args[0])
      const v = arg.type === 'VectorSelector'
        ? await ev.vectorSelector(arg, g, { func: name }, true)
        : mapVector(await ev.evalVector(arg, g, { func: e.func }), g, (_x, i) => stepTime(g, i) / 1000)
      return { kind: 'vector', series: v.series.map((s) => new VSeries(s.labels, true, s.values, s.present)) }
    }
    case 'sort': case 'sort_desc': {
      const v = await ev.evalVector(e.args[0], g, { func: e.func })
      const desc = name === 'sort_desc'
      // Only meaningful for instant queries: order by the single step's value, NaN last.
      const series = [...v.series].sort((a, b) => {
        const x = a.values[0], y = b.values[0]
        if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1
        if (Number.isNaN(y)) return -1
        return desc ? y - x : x - y
      })
      return { kind: 'vector', series }
    }
    case 'sort_by_label': case 'sort_by_label_desc': {
      const v = await ev.evalVector(e.args[0], g, { func: e.func })
      const names = e.args.slice(1).map(stringArg)
      const desc = name === 'sort_by_label_desc'
      const series = [...v.series].sort((a, b) => {
        for (const l of names) {
          const x = a.labels[l] ?? '', y = b.labels[l] ?? ''
          if (x === y) continue
          const r = naturalLess(x, y) ? -1 : 1
          return desc ? -r : r
        }
        const r = compareLabels(a.labels, b.labels)
        return desc ? -r : r
      })
      return { kind: 'vector', series }
    }
    case 'label_replace': {
      const dst = stringArg(e.args[1]), repl = stringArg(e.args[2]), src = stringArg(e.args[3]), re = stringArg(e.args[4])
      let regex
      try { regex = compileAnchored(re) } catch { throw new PromQLExecutionError(`invalid regular expression in label_replace(): ${re}`) }
      if (!validLabelName(dst)) throw new PromQLExecutionError(`invalid destination label name in label_replace(): ${dst}`)
      const v = await ev.evalVector(e.args[0], g, { func: e.func })
      const series = v.series.map((s) => {
        const m = regex.exec(s.labels[src] ?? '')
        if (!m) return s
        const res = expandTemplate(repl, m.groups, m.named)
        const labels: Record<string, string> = { ...s.labels }
        if (res === '') delete labels[dst]
        else labels[dst] = res
        return new VSeries(labels, dst === '__name__' ? false : s.dropName, s.values, s.present)
      })
      duplicateCheck(series)
      return { kind: 'vector', series }
    }
    case 'label_join': {
      const dst = stringArg(e.args[1]), sep = stringArg(e.args[2])
      const srcs = e.args.slice(3).map(stringArg)
      for (const s of srcs) if (!validLabelName(s)) throw new PromQLExecutionError(`invalid source label name in label_join(): ${s}`)
      if (!validLabelName(dst)) throw new PromQLExecutionError(`invalid destination label name in label_join(): ${dst}`)
      const v = await ev.evalVector(e.args[0], g, { func: e.func })
      const series = v.series.map((s) => {
        const val = srcs.map((l) => s.labels[l] ?? '').join(sep)
        const labels: Record<string, string> = { ...s.labels }
        if (val === '') delete labels[dst]
        else labels[dst] = val
        return new VSeries(labels, dst === '__name__' ? false : s.dropName, s.values, s.present)
      })
      duplicateCheck(series)
      return { kind: 'vector', series }
    }
    case 'histogram_quantile': {
      const q = await ev.evalScalar(e.args[0], g)
      const v = await ev.evalVector(e.args[1], g, { func: e.func })
      return histogramQuantile(ev, q.values, v, g, e.args[0].pos, e.args[1].pos)
    }
    case 'round': {
      const v = await ev.evalVector(e.args[0], g, { func: e.func })
      const to = e.args[1] ? (await ev.evalScalar(e.args[1], g)).values : new Float64Array(g.n).fill(1)
      return mapVector(v, g, (x, i) => {
        const inv = 1 / to[i]
        return Math.floor(x * inv + 0.5) / inv
      })
    }
    case 'clamp': case 'clamp_min': case 'clamp_max': {
      const v = await ev.evalVector(e.args[0], g, { func: e.func })
      const a = (await ev.evalScalar(e.args[1], g)).values
      const b = e.args[2] ? (await ev.evalScalar(e.args[2], g)).values : undefined
      if (name === 'clamp_min') return mapVector(v, g, (x, i) => Math.max(x, a[i]))
      if (name === 'clamp_max') return mapVector(v, g, (x, i) => Math.min(x, a[i]))
      const out = mapVector(v, g, (x, i) => Math.max(a[i], Math.min(b![i], x)))
      // clamp with max < min returns nothing at that step.
      const series = out.series.map((s) => {
        const present = new Uint8Array(s.present)
        for (let i = 0; i < g.n; i++) if (b![i] < a[i]) present[i] = 0
        return new VSeries(s.labels, s.dropName, s.values, present)
      })
      return { kind: 'vector', series: series.filter((s) => s.present.includes(1)) }
    }
    case 'histogram_fraction': {
      const lower = (await ev.evalScalar(e.args[0], g)).values
      const upper = (await ev.evalScalar(e.args[1], g)).values
      return histogramFraction(ev, lower, upper, await ev.evalVector(e.args[2], g, { func: e.func }), g, e.args[2].pos)
    }
    case 'histogram_count': case 'histogram_sum': case 'histogram_avg':
    case 'histogram_stddev': case 'histogram_stdvar': {
      // Native histograms only; float samples are ignored (no native histogram support here).
      for (const a of e.args) await ev.eval(a, g, { func: e.func })
      return { kind: 'vector', series: [] }
    }
  }
  if (name in MATH) {
    const v = await ev.evalVector(e.args[0], g, { func: e.func })
    return mapVector(v, g, MATH[name])
  }
  if (name in DATE) {
    const fn = DATE[name]
    const apply = (x: number): number => fn(new Date(Math.trunc(x) * 1000))
    if (e.args.length === 0) {
      const out = new Float64Array(g.n)
      for (let i = 0; i < g.n; i++) out[i] = apply(stepTime(g, i) / 1000)
      return { kind: 'vector', series: [new VSeries({}, false, out, new Uint8Array(g.n).fill(1))] }
    }
    const v = await ev.evalVector(e.args[0], g, { func: e.func })
    return mapVector(v, g, (x) => (Number.isFinite(x) ? apply(x) : NaN))
  }
  throw new PromQLExecutionError(`function ${JSON.stringify(name)} is not supported`)
}

