/**
 * Aggregation operators. Each input series is assigned its group once; per step the
 * accumulators of the groups are updated in input order, with Prometheus's float rules
 * (Kahan-compensated sum/avg, Welford stddev/stdvar, NaN handling of min/max, topk/bottomk
 * heaps that break ties the same way).
 */
import type { Labels } from '../api.js'
import { PromQLExecutionError } from '../api.js'
import type { AggregateExpr } from '../ast.js'
import { formatFloat, formatGoG } from '../format.js'
import { labelHashOffsets } from './label-hash.js'
import type { Evaluator } from './evaluator.js'
import { OutputCollector } from './output.js'
import type { Grid, Value, VectorValue } from './values.js'
import { kahan, kahanAdd, labelsKey, VSeries } from './values.js'

export function groupingLabels(labels: Labels, grouping: readonly string[], without: boolean): Labels {
  const out: Record<string, string> = {}
  if (without) {
    for (const k in labels) if (k !== '__name__' && !grouping.includes(k)) out[k] = labels[k]
  } else {
    for (const k of grouping) if (labels[k] !== undefined && labels[k] !== '') out[k] = labels[k]
  }
  return out
}

/** Prometheus's quantile over values (sorted in place): linear interpolation between ranks. */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN
  if (q < 0) return -Infinity
  if (q > 1) return Infinity
  values.sort((a, b) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : -1) : Number.isNaN(b) ? 1 : a - b))
  const n = values.length
  const rank = q * (n - 1)
  const lower = Math.max(0, Math.floor(rank))
  const upper = Math.min(n - 1, lower + 1)
  const weight = rank - Math.floor(rank)
  return values[lower] * (1 - weight) + values[upper] * weight
}

interface HeapItem { readonly series: number; readonly v: number }

/** Go's container/heap over a "less" function, so ties resolve as in Prometheus. */
class GoHeap {
  readonly items: HeapItem[] = []
  constructor(private readonly less: (a: HeapItem, b: HeapItem) => boolean) {}
  push(x: HeapItem): void {
    this.items.push(x)
    this.up(this.items.length - 1)
  }
  fixTop(): void {
    if (!this.down(0, this.items.length)) this.up(0)
  }
  private up(j: number): void {
    const h = this.items
    while (true) {
      const i = Math.floor((j - 1) / 2)
      if (i === j || j <= 0 || !this.less(h[j], h[i])) break
      ;[h[i], h[j]] = [h[j], h[i]]
      j = i
    }
  }
  private down(i0: number, n: number): boolean {
    const h = this.items
    let i = i0
    while (true) {
      const j1 = 2 * i + 1
      if (j1 >= n) break
      let j = j1
      const j2 = j1 + 1
      if (j2 < n && this.less(h[j2], h[j1])) j = j2
      if (!this.less(h[j], h[i])) break
      ;[h[i], h[j]] = [h[j], h[i]]
      i = j
    }
    return i > i0
  }
}

export async function evalAggregate(ev: Evaluator, e: AggregateExpr, g: Grid): Promise<Value> {
  const input = await ev.evalVector(e.expr, g, { func: e.op, grouping: e.grouping, by: !e.without })
  let param: Float64Array | undefined
  let labelParam: string | undefined
  if (e.param) {
    const p = await ev.eval(e.param, g)
    if (p.kind === 'scalar') param = p.values
    else if (p.kind === 'string') labelParam = p.value
  }
  switch (e.op) {
    case 'topk': case 'bottomk': case 'limitk':
      return aggregateK(ev, e, input, param!, g)
    case 'limit_ratio':
      return limitRatio(ev, e, input, param!, g)
    case 'count_values':
      return await countValues(ev, e, input, labelParam!, g)
    default:
      return aggregatePlain(ev, e, input, param, g)
  }
}

/** Group ordinal per input series and each group's output labels. */
function assignGroups(e: AggregateExpr, input: VectorValue): { groupOf: Int32Array; labels: Labels[]; dropName: boolean[] } {
  const ids = new Map<string, number>()
  const labels: Labels[] = []
  const dropName: boolean[] = []
  const groupOf = new Int32Array(input.series.length)
  input.series.forEach((s, i) => {
    const gl = groupingLabels(s.labels, e.grouping, e.without)
    const k = labelsKey(gl)
    let id = ids.get(k)
    if (id === undefined) {
      id = labels.length
      ids.set(k, id)
      labels.push(gl)
      dropName.push(false)
    }
    if (s.dropName) dropName[id] = true
    groupOf[i] = id
  })
  return { groupOf, labels, dropName }
}

function aggregatePlain(ev: Evaluator, e: AggregateExpr, input: VectorValue, param: Float64Array | undefined, g: Grid): VectorValue {
  const { groupOf, labels, dropName } = assignGroups(e, input)
  const ng = labels.length
  const out = labels.map((l, i) => VSeries.empty(l, dropName[i], g.n))
  const val = new Float64Array(ng)
  const comp = new Float64Array(ng)
  const mean = new Float64Array(ng)
  const count = new Float64Array(ng)
  const incremental = new Uint8Array(ng)
  const seenAt = new Int32Array(ng).fill(-1)
  const lists: number[][] = e.op === 'quantile' ? labels.map(() => []) : []
  const op = e.op
  if (op === 'quantile' && param) {
    // One warning each for NaN, the largest q above 1 and the smallest below 0, as Prometheus.
    let max = -Infinity, min = Infinity, nan = false
    for (const q of param) { if (Number.isNaN(q)) nan = true; else { max = Math.max(max, q); min = Math.min(min, q) } }
    const pos = e.param?.pos
    if (nan) ev.warn('PromQL warning: quantile value should be between 0 and 1, got NaN', pos)
    if (max > 1) ev.warn(`PromQL warning: quantile value should be between 0 and 1, got ${formatGoG(max)}`, pos)
    if (min < 0) ev.warn(`PromQL warning: quantile value should be between 0 and 1, got ${formatGoG(min)}`, pos)
  }
  for (let i = 0; i < g.n; i++) {
    ev.checkAbort()
    for (let si = 0; si < input.series.length; si++) {
      const s = input.series[si]
      if (!s.present[i]) continue
      const f = s.values[i]
      const gi = groupOf[si]
      if (seenAt[gi] !== i) {
        seenAt[gi] = i
        val[gi] = f
        mean[gi] = f
        comp[gi] = 0
        count[gi] = 1
        incremental[gi] = 0
        if (op === 'stddev' || op === 'stdvar') val[gi] = Number.isNaN(f) || !Number.isFinite(f) ? NaN : 0
        else if (op === 'group') val[gi] = 1
        else if (op === 'quantile') lists[gi] = [f]
        continue
      }
      switch (op) {
        case 'sum': val[gi] = kahanAdd(f, val[gi], comp[gi]); comp[gi] = kahan.c; break
        case 'avg': {
          count[gi]++
          const c = count[gi]
          if (!incremental[gi]) {
            const nv = kahanAdd(f, val[gi], comp[gi]), nc = kahan.c
            if (Number.isFinite(nv) || Number.isNaN(nv)) { val[gi] = nv; comp[gi] = nc; break }
            incremental[gi] = 1
            mean[gi] = val[gi] / (c - 1)
            comp[gi] = comp[gi] / (c - 1)
          }
          const q = (c - 1) / c
          mean[gi] = kahanAdd(f / c, q * mean[gi], q * comp[gi]); comp[gi] = kahan.c
          break
        }
        case 'max': if (val[gi] < f || Number.isNaN(val[gi])) val[gi] = f; break
        case 'min': if (val[gi] > f || Number.isNaN(val[gi])) val[gi] = f; break
        case 'count': count[gi]++; break
        case 'group': break
        case 'stddev': case 'stdvar': {
          count[gi]++
          const delta = f - mean[gi]
          mean[gi] += delta / count[gi]
          val[gi] += delta * (f - mean[gi])
          break
        }
        case 'quantile': lists[gi].push(f); break
        default: throw new PromQLExecutionError(`unknown aggregation ${op}`)
      }
    }
    for (let gi = 0; gi < ng; gi++) {
      if (seenAt[gi] !== i) continue
      let v = val[gi]
      switch (op) {
        case 'sum': if (Number.isFinite(v)) v += comp[gi]; break
        case 'avg': v = incremental[gi] ? mean[gi] + comp[gi] : val[gi] / count[gi] + comp[gi] / count[gi]; break
        case 'count': v = count[gi]; break
        case 'stdvar': v = val[gi] / count[gi]; break
        case 'stddev': v = Math.sqrt(val[gi] / count[gi]); break
        case 'quantile': v = quantile(param ? param[i] : NaN, lists[gi]); break
      }
      out[gi].values[i] = v
      out[gi].present[i] = 1
    }
  }
  return { kind: 'vector', series: out.filter((s) => s.present.includes(1)) }
}

function aggregateK(ev: Evaluator, e: AggregateExpr, input: VectorValue, param: Float64Array, g: Grid): VectorValue {
  const { groupOf, labels } = assignGroups(e, input)
  const ng = labels.length
  const collector = new OutputCollector(g)
  const nanLess = (a: number, b: number, greater: boolean): boolean => {
    if (Number.isNaN(a)) return true
    return greater ? a > b : a < b
  }
  const top = e.op === 'topk'
  const less = (a: HeapItem, b: HeapItem): boolean => nanLess(a.v, b.v, !top)
  // Instant queries list each group's k series in rank order; range queries sort by labels later.
  const ordered: { series: number; v: number; step: number }[] = []
  for (let i = 0; i < g.n; i++) {
    ev.checkAbort()
    const kf = param[i]
    if (!(Math.abs(kf) < 9.223372036854776e18)) throw new PromQLExecutionError(`Scalar value ${formatGoG(kf)} overflows int64`)
    let k = Math.trunc(kf)
    if (k > input.series.length) k = input.series.length
    if (k < 1) continue
    const heaps: (GoHeap | undefined)[] = new Array(ng)
    for (let si = 0; si < input.series.length; si++) {
      const s = input.series[si]
      if (!s.present[i]) continue
      const item = { series: si, v: s.values[i] }
      const gi = groupOf[si]
      let h = heaps[gi]
      if (!h) { h = new GoHeap(less); heaps[gi] = h; h.push(item); continue }
      if (e.op === 'limitk') {
        if (h.items.length < k) h.push(item)
        continue
      }
      const head = h.items[0]
      if (h.items.length < k) h.push(item)
      else if ((top ? head.v < item.v : head.v > item.v) || (Number.isNaN(head.v) && !Number.isNaN(item.v))) {
        h.items[0] = item
        if (k > 1) h.fixTop()
      }
    }
    for (const h of heaps) {
      if (!h) continue
      const items = [...h.items]
      if (e.op !== 'limitk') items.sort((a, b) => (less(a, b) ? 1 : less(b, a) ? -1 : 0))
      for (const it of items) ordered.push({ ...it, step: i })
    }
  }
  for (const o of ordered) {
    const s = input.series[o.series]
    collector.add(s.labels, s.dropName, o.step, o.v)
  }
  return { kind: 'vector', series: collector.series() }
}

async function countValues(ev: Evaluator, e: AggregateExpr, input: VectorValue, label: string, g: Grid): Promise<VectorValue> {
  // Prometheus 3 accepts any non-empty UTF-8 label name.
  if (label.length === 0 || label.includes('\ufffd')) throw new PromQLExecutionError(`invalid label name ${JSON.stringify(label)}`)
  // Its output grows with the distinct values, not the input: count every new series
  // against the sample limit (a 3 h range at 1 s over 1000 series reached 19 GB without).
  const collector = new OutputCollector(g, (points) => ev.addSamples(points))
  const groupLabels = input.series.map((s) => {
    const gl: Record<string, string> = { ...groupingLabels(s.labels, e.grouping, e.without) }
    return gl
  })
  for (let i = 0; i < g.n; i++) {
    await ev.pace()
    const counts = new Map<string, { labels: Labels; n: number }>()
    input.series.forEach((s, si) => {
      if (!s.present[i]) return
      const l = { ...groupLabels[si], [label]: formatFloat(s.values[i]) }
      const k = labelsKey(l)
      const c = counts.get(k)
      if (c) c.n++
      else counts.set(k, { labels: l, n: 1 })
    })
    for (const c of counts.values()) collector.add(c.labels, false, i, c.n)
  }
  return { kind: 'vector', series: collector.series() }
}

/**
 * limit_ratio: keeps a series when its label hash, scaled to [0, 1), falls below the ratio
 * (or, for a negative ratio, at or above 1 + ratio), so `limit_ratio(r, x)` and
 * `limit_ratio(-(1 - r), x)` split x into complementary parts, stable across steps.
 */
async function limitRatio(ev: Evaluator, e: AggregateExpr, input: VectorValue, param: Float64Array, g: Grid): Promise<VectorValue> {
  let max = -Infinity, min = Infinity
  for (const r of param) { max = Math.max(max, r); min = Math.min(min, r) }
  if (max > 1) ev.warn(`PromQL warning: ratio value should be between -1 and 1, got ${formatGoG(max)}, capping to 1`, e.param?.pos)
  if (min < -1) ev.warn(`PromQL warning: ratio value should be between -1 and 1, got ${formatGoG(min)}, capping to -1`, e.param?.pos)
  const offsets = await labelHashOffsets(input.series.map((s) => s.labels))
  const collector = new OutputCollector(g)
  for (let i = 0; i < g.n; i++) {
    const raw = param[i]
    if (Number.isNaN(raw)) throw new PromQLExecutionError('Ratio value NaN is NaN')
    if (raw === 0) continue
    const r = Math.max(-1, Math.min(1, raw))
    input.series.forEach((s, si) => {
      if (!s.present[i]) return
      const off = offsets[si]
      if ((r >= 0 && off < r) || (r < 0 && off >= 1 + r)) collector.add(s.labels, s.dropName, i, s.values[i])
    })
  }
  return { kind: 'vector', series: collector.series() }
}
