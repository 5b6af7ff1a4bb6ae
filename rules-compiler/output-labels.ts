/**
 * Which labels a PromQL expression's result can carry, worked out from the syntax tree alone:
 * a selector may return any label (open); an aggregation `by (a, b)` only a and b; `absent()`
 * only its equality matchers. The pint-like checks use it to find templates and rule labels
 * that refer to a label the query can never return, and which aggregation dropped it.
 */
import { typeOf, type Expr } from './promql.js'

export interface OutputLabels {
  /** Any label may be present, except those in `dropped`. */
  open: boolean
  /** Labels certainly possible (closed), or known to be present (open). */
  names: Set<string>
  /** Labels removed, with the node that removed them (for the message). */
  dropped: Map<string, Expr>
}

const closed = (names: Iterable<string>, dropped = new Map<string, Expr>()): OutputLabels => ({ open: false, names: new Set(names), dropped })
const open = (dropped = new Map<string, Expr>()): OutputLabels => ({ open: true, names: new Set(), dropped })

/** Functions whose result keeps the input's labels (except __name__). */
const LABEL_KEEPING = new Set([
  'abs', 'ceil', 'floor', 'round', 'exp', 'ln', 'log2', 'log10', 'sqrt', 'sgn', 'clamp', 'clamp_min', 'clamp_max',
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'predict_linear', 'resets', 'changes',
  'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'last_over_time',
  'quantile_over_time', 'stddev_over_time', 'stdvar_over_time', 'present_over_time', 'holt_winters', 'timestamp',
  'sort', 'sort_desc', 'label_replace', 'label_join', 'histogram_quantile', 'histogram_fraction', 'histogram_count', 'histogram_sum',
  'days_in_month', 'day_of_month', 'day_of_week', 'day_of_year', 'hour', 'minute', 'month', 'year',
])

export function outputLabels(e: Expr): OutputLabels {
  switch (e.type) {
    case 'NumberLiteral':
    case 'StringLiteral':
      return closed([])
    case 'VectorSelector':
      return { open: true, names: new Set(e.matchers.filter((m) => m.type === '=' && m.value !== '').map((m) => m.name)), dropped: new Map() }
    case 'MatrixSelector':
      return outputLabels(e.selector)
    case 'SubqueryExpr':
    case 'ParenExpr':
    case 'UnaryExpr':
      return outputLabels(e.expr)
    case 'AggregateExpr': {
      const inner = outputLabels(e.expr)
      if (e.op === 'topk' || e.op === 'bottomk' || e.op === 'limitk' || e.op === 'limit_ratio') return inner
      const dropped = new Map(inner.dropped)
      if (e.without) {
        for (const l of e.grouping) dropped.set(l, e)
        const names = new Set([...inner.names].filter((n) => !e.grouping.includes(n)))
        return inner.open ? { open: true, names, dropped } : closed(names, dropped)
      }
      const kept = e.grouping.filter((l) => inner.open || inner.names.has(l))
      if (e.op === 'count_values' && e.param?.type === 'StringLiteral') kept.push(e.param.value)
      // Everything else is gone: remember this aggregation as the one that dropped it.
      const result = closed(kept, dropped)
      result.dropped.set('*', e)
      return result
    }
    case 'Call': {
      const args = e.args
      if (e.func === 'absent' || e.func === 'absent_over_time') {
        const sel = args[0]?.type === 'MatrixSelector' ? args[0].selector : args[0]
        const names = sel?.type === 'VectorSelector' ? sel.matchers.filter((m) => m.type === '=' && m.name !== '__name__').map((m) => m.name) : []
        const r = closed(names)
        r.dropped.set('*', e)
        return r
      }
      if (e.func === 'vector' || e.func === 'time' || e.func === 'scalar' || e.func === 'pi') {
        const r = closed([])
        r.dropped.set('*', e)
        return r
      }
      if (e.func === 'label_replace' || e.func === 'label_join') {
        const inner = outputLabels(args[0]!)
        const dst = args[1]?.type === 'StringLiteral' ? args[1].value : undefined
        if (dst !== undefined) inner.names.add(dst)
        return inner
      }
      if (e.func === 'histogram_quantile' || e.func === 'histogram_fraction') {
        const inner = outputLabels(args[args.length - 1]!)
        inner.names.delete('le')
        inner.dropped.set('le', e)
        return inner
      }
      const vectorArg = args.find((a) => a.type !== 'NumberLiteral' && a.type !== 'StringLiteral')
      if (LABEL_KEEPING.has(e.func) && vectorArg) return outputLabels(vectorArg)
      return vectorArg ? outputLabels(vectorArg) : open()
    }
    case 'BinaryExpr': {
      const l = outputLabels(e.lhs)
      const r = outputLabels(e.rhs)
      if (!e.matching) return typeOf(e.lhs) === 'scalar' ? r : l
      if (e.op === 'or') {
        return { open: l.open || r.open, names: new Set([...l.names, ...r.names]), dropped: new Map([...r.dropped, ...l.dropped]) }
      }
      const m = e.matching
      if (m.card === 'one-to-one' && m.on && e.op !== 'and' && e.op !== 'unless') {
        const result = closed(m.labels.filter((n) => l.open || l.names.has(n)), l.dropped)
        result.dropped.set('*', e)
        return result
      }
      const base = m.card === 'one-to-many' ? r : l
      if (m.card === 'many-to-one' || m.card === 'one-to-many') for (const n of m.include) base.names.add(n)
      if (m.card === 'one-to-one' && !m.on && e.op !== 'and' && e.op !== 'unless') for (const n of m.labels) base.dropped.set(n, e)
      return base
    }
  }
}

/** Whether `name` can be in the result; if not, the node that removed it. */
export function canCarry(labels: OutputLabels, name: string): { ok: true } | { ok: false; droppedBy?: Expr } {
  if (labels.dropped.has(name) && !labels.names.has(name)) return { ok: false, droppedBy: labels.dropped.get(name) }
  if (labels.open || labels.names.has(name)) return { ok: true }
  return { ok: false, droppedBy: labels.dropped.get('*') }
}
