/**
 * The one place rules-compiler reaches the PromQL engine's parser (promql/parser.ts): parse +
 * type-check an expression, and walk its tree. Prometheus's experimental functions are off, as
 * in a Prometheus started without --enable-feature=promql-experimental-functions.
 */
import { PromQLParseError } from '../promql/api.js'
import type { Expr } from '../promql/ast.js'
import { parsePromQL, typeOf } from '../promql/parser.js'

export type { Expr } from '../promql/ast.js'
export { typeOf }

export type ParsedExpr = { ok: true; expr: Expr } | { ok: false; message: string; offset: number }

export function parseRuleExpr(text: string): ParsedExpr {
  try {
    return { ok: true, expr: parsePromQL(text, { experimentalFunctions: false }) }
  } catch (err) {
    if (err instanceof PromQLParseError) return { ok: false, message: err.message, offset: err.position?.start ?? 0 }
    return { ok: false, message: (err as Error).message, offset: 0 }
  }
}

/** Children of a node, in source order. */
export function children(e: Expr): Expr[] {
  switch (e.type) {
    case 'MatrixSelector':
      return [e.selector]
    case 'SubqueryExpr':
    case 'UnaryExpr':
    case 'ParenExpr':
      return [e.expr]
    case 'Call':
      return [...e.args]
    case 'AggregateExpr':
      return e.param ? [e.param, e.expr] : [e.expr]
    case 'BinaryExpr':
      return [e.lhs, e.rhs]
    default:
      return []
  }
}

export function* walk(e: Expr): Generator<Expr> {
  yield e
  for (const c of children(e)) yield* walk(c)
}
