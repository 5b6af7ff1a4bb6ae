/**
 * Binary operators: scalar/scalar, vector/scalar and vector/vector with Prometheus's vector
 * matching (on/ignoring, group_left/right, bool, and/or/unless). Matching signatures are
 * computed once per series; the per-step work is array lookups by signature ordinal.
 */
import type { Labels } from '../api.js'
import { PromQLExecutionError } from '../api.js'
import type { BinaryExpr, BinaryOp, VectorMatching } from '../ast.js'
import { isComparisonOp } from '../ast.js'
import type { Evaluator } from './evaluator.js'
import { OutputCollector } from './output.js'
import type { Grid, Value, VectorValue } from './values.js'
import { goPow, signatureKey, VSeries } from './values.js'

function arith(op: BinaryOp, l: number, r: number): number {
  switch (op) {
    case '+': return l + r
    case '-': return l - r
    case '*': return l * r
    case '/': return l / r
    case '%': return l % r
    case '^': return goPow(l, r)
    case 'atan2': return Math.atan2(l, r)
    default: throw new Error(`not an arithmetic operator: ${op}`)
  }
}

function compare(op: BinaryOp, l: number, r: number): boolean {
  switch (op) {
    case '==': return l === r
    case '!=': return l !== r
    case '>': return l > r
    case '<': return l < r
    case '>=': return l >= r
    case '<=': return l <= r
    default: throw new Error(`not a comparison operator: ${op}`)
  }
}

/** Value and keep-flag of one element pair (Prometheus's vectorElemBinop for floats). */
function elemOp(op: BinaryOp, l: number, r: number): [number, boolean] {
  if (isComparisonOp(op)) return [l, compare(op, l, r)]
  return [arith(op, l, r), true]
}

const DEFAULT_MATCHING: VectorMatching = { card: 'one-to-one', on: false, labels: [], include: [], explicit: false }

export async function evalBinary(ev: Evaluator, e: BinaryExpr, g: Grid): Promise<Value> {
  const lhs = await ev.eval(e.lhs, g)
  const rhs = await ev.eval(e.rhs, g)
  if (lhs.kind === 'scalar' && rhs.kind === 'scalar') {
    const out = new Float64Array(g.n)
    for (let i = 0; i < g.n; i++) {
      const l = lhs.values[i], r = rhs.values[i]
      out[i] = isComparisonOp(e.op) ? (compare(e.op, l, r) ? 1 : 0) : arith(e.op, l, r)
    }
    return { kind: 'scalar', values: out }
  }
  if (lhs.kind === 'vector' && rhs.kind === 'scalar') return vectorScalar(e, lhs, rhs.values, false, g)
  if (lhs.kind === 'scalar' && rhs.kind === 'vector') return vectorScalar(e, rhs, lhs.values, true, g)
  if (lhs.kind === 'vector' && rhs.kind === 'vector') {
    const m = e.matching ?? DEFAULT_MATCHING
    switch (e.op) {
      case 'and': return setAnd(lhs, rhs, m, g, false)
      case 'unless': return setAnd(lhs, rhs, m, g, true)
      case 'or': return setOr(lhs, rhs, m, g)
      default: return vectorVector(ev, e, lhs, rhs, m, g)
    }
  }
  throw new PromQLExecutionError(`invalid operand types for ${e.op}`)
}

function vectorScalar(e: BinaryExpr, vec: VectorValue, scalar: Float64Array, swap: boolean, g: Grid): VectorValue {
  const comparison = isComparisonOp(e.op)
  const dropName = !comparison || e.returnBool
  const out: VSeries[] = []
  for (const s of vec.series) {
    const r = VSeries.empty(s.labels, s.dropName || dropName, g.n)
    let any = false
    for (let i = 0; i < g.n; i++) {
      if (!s.present[i]) continue
      let l = s.values[i], rv = scalar[i]
      if (swap) [l, rv] = [rv, l]
      let [v, keep] = elemOp(e.op, l, rv)
      // A comparison keeps the vector element's value even when the vector is on the right.
      if (comparison && swap) v = rv
      if (e.returnBool) { v = keep ? 1 : 0; keep = true }
      if (!keep) continue
      r.values[i] = v
      r.present[i] = 1
      any = true
    }
    if (any) out.push(r)
  }
  return { kind: 'vector', series: out }
}

/** Assigns each distinct signature an ordinal shared by both sides. */
function signatures(lhs: VectorValue, rhs: VectorValue, m: VectorMatching): { l: Int32Array; r: Int32Array; count: number; keys: string[] } {
  const ids = new Map<string, number>()
  const keys: string[] = []
  const assign = (v: VectorValue): Int32Array => {
    const out = new Int32Array(v.series.length)
    v.series.forEach((s, i) => {
      const k = signatureKey(s.labels, m.on, m.labels)
      let id = ids.get(k)
      if (id === undefined) { id = keys.length; ids.set(k, id); keys.push(k) }
      out[i] = id
    })
    return out
  }
  const l = assign(lhs)
  const r = assign(rhs)
  return { l, r, count: keys.length, keys }
}

function setAnd(lhs: VectorValue, rhs: VectorValue, m: VectorMatching, g: Grid, unless: boolean): VectorValue {
  const sig = signatures(lhs, rhs, m)
  const seen = new Int32Array(sig.count).fill(-1)
  const out: VSeries[] = lhs.series.map((s) => VSeries.empty(s.labels, s.dropName, g.n))
  for (let i = 0; i < g.n; i++) {
    rhs.series.forEach((s, k) => { if (s.present[i]) seen[sig.r[k]] = i })
    lhs.series.forEach((s, k) => {
      if (!s.present[i]) return
      const matched = seen[sig.l[k]] === i
      if (matched !== unless) {
        out[k].values[i] = s.values[i]
        out[k].present[i] = 1
      }
    })
  }
  return { kind: 'vector', series: out.filter((s) => s.present.includes(1)) }
}

function setOr(lhs: VectorValue, rhs: VectorValue, m: VectorMatching, g: Grid): VectorValue {
  const sig = signatures(lhs, rhs, m)
  const seen = new Int32Array(sig.count).fill(-1)
  const right: VSeries[] = rhs.series.map((s) => VSeries.empty(s.labels, s.dropName, g.n))
  for (let i = 0; i < g.n; i++) {
    lhs.series.forEach((s, k) => { if (s.present[i]) seen[sig.l[k]] = i })
    rhs.series.forEach((s, k) => {
      if (!s.present[i] || seen[sig.r[k]] === i) return
      right[k].values[i] = s.values[i]
      right[k].present[i] = 1
    })
  }
  return { kind: 'vector', series: [...lhs.series, ...right.filter((s) => s.present.includes(1))] }
}

function labelsString(l: Labels): string {
  const names = Object.keys(l).sort()
  return '{' + names.map((n) => `${n}=${JSON.stringify(l[n])}`).join(', ') + '}'
}

function matchedLabels(l: Labels, m: VectorMatching): Labels {
  const out: Record<string, string> = {}
  if (m.on) {
    for (const n of m.labels) if (l[n] !== undefined) out[n] = l[n]
  } else {
    for (const n in l) if (n !== '__name__' && !m.labels.includes(n)) out[n] = l[n]
  }
  return out
}

function resultLabels(l: Labels, r: Labels, op: BinaryOp, m: VectorMatching): Labels {
  const out: Record<string, string> = { ...l }
  if (!isComparisonOp(op)) {
    delete out.__name__
    delete out.__type__
    delete out.__unit__
  }
  if (m.card === 'one-to-one') {
    if (m.on) {
      for (const n of Object.keys(out)) if (!m.labels.includes(n)) delete out[n]
    } else {
      for (const n of m.labels) delete out[n]
    }
  }
  for (const n of m.include) {
    const v = r[n]
    if (v !== undefined && v !== '') out[n] = v
    else delete out[n]
  }
  return out
}

function vectorVector(ev: Evaluator, e: BinaryExpr, lhsIn: VectorValue, rhsIn: VectorValue, m: VectorMatching, g: Grid): VectorValue {
  if (lhsIn.series.length === 0 || rhsIn.series.length === 0) return { kind: 'vector', series: [] }
  const swapped = m.card === 'one-to-many'
  const lhs = swapped ? rhsIn : lhsIn
  const rhs = swapped ? lhsIn : rhsIn
  const sig = signatures(lhs, rhs, m)
  const rightAt = new Int32Array(sig.count)
  const rightStep = new Int32Array(sig.count).fill(-1)
  const matchedStep = new Int32Array(sig.count).fill(-1)
  const insertedBySig = new Map<number, Set<string>>()
  const collector = new OutputCollector(g)
  // Result labels depend only on the (lhs series, rhs series) pair.
  const labelCache = new Map<number, { labels: Labels; key: string }>()
  for (let i = 0; i < g.n; i++) {
    insertedBySig.clear()
    for (let k = 0; k < rhs.series.length; k++) {
      const s = rhs.series[k]
      if (!s.present[i]) continue
      const id = sig.r[k]
      if (rightStep[id] === i) {
        const other = rhs.series[rightAt[id]]
        let d1 = labelsString(s.labels), d2 = labelsString(other.labels)
        if (d1 > d2) [d1, d2] = [d2, d1]
        throw new PromQLExecutionError(
          `found duplicate series for the match group ${labelsString(matchedLabels(s.labels, m))} on the ${swapped ? 'left' : 'right'} hand-side of the operation: [${d1}, ${d2}];many-to-many matching not allowed: matching labels must be unique on one side`,
        )
      }
      rightStep[id] = i
      rightAt[id] = k
    }
    for (let k = 0; k < lhs.series.length; k++) {
      const ls = lhs.series[k]
      if (!ls.present[i]) continue
      const id = sig.l[k]
      if (rightStep[id] !== i) continue
      const rk = rightAt[id]
      const rs = rhs.series[rk]
      let l = ls.values[i], r = rs.values[i]
      if (swapped) [l, r] = [r, l]
      const [value, keep] = elemOp(e.op, l, r)
      const v = e.returnBool ? (keep ? 1 : 0) : value
      const cacheKey = k * rhs.series.length + rk
      let res = labelCache.get(cacheKey)
      if (!res) {
        const labels = resultLabels(ls.labels, rs.labels, e.op, m)
        res = { labels, key: '' }
        labelCache.set(cacheKey, res)
      }
      if (m.card === 'one-to-one') {
        if (matchedStep[id] === i) throw new PromQLExecutionError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)')
        matchedStep[id] = i
      } else {
        let inserted = insertedBySig.get(id)
        if (!inserted) { inserted = new Set(); insertedBySig.set(id, inserted) }
        const rk2 = collector.keyOf(res.labels)
        if (inserted.has(rk2)) throw new PromQLExecutionError('multiple matches for labels: grouping labels must ensure unique matches')
        inserted.add(rk2)
      }
      if (!keep && !e.returnBool) continue
      // Prometheus 3.5 sets DropName from `bool` alone here (arithmetic already removed the name).
      const dropName = e.returnBool
      collector.add(res.labels, dropName, i, v)
    }
  }
  return { kind: 'vector', series: collector.series() }
}
