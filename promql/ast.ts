/**
 * The typed PromQL syntax tree produced by parser.ts and consumed by the evaluator and
 * printer.ts. Durations, offsets and `@` timestamps are milliseconds (as api.ts).
 */
import type { LabelMatcher } from './api.js'

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string'

/** 0-based offsets into the query text; `end` exclusive. */
export interface PosRange {
  readonly start: number
  readonly end: number
}

/** `@ <time>` (ms) or `@ start()` / `@ end()`. */
export type AtModifier = { readonly kind: 'time'; readonly t: number } | { readonly kind: 'start' } | { readonly kind: 'end' }

export interface NumberLiteral {
  readonly type: 'NumberLiteral'
  readonly value: number
  /** The literal was written as a duration (`5m`): printed back as one. */
  readonly duration?: boolean
  readonly pos: PosRange
}

export interface StringLiteral {
  readonly type: 'StringLiteral'
  readonly value: string
  readonly pos: PosRange
}

export interface VectorSelector {
  readonly type: 'VectorSelector'
  /** Metric name written before the braces, if any (it is also among `matchers`). */
  readonly name?: string
  readonly matchers: readonly LabelMatcher[]
  /** Offset in ms (negative allowed). */
  readonly offset: number
  readonly at?: AtModifier
  readonly pos: PosRange
}

export interface MatrixSelector {
  readonly type: 'MatrixSelector'
  readonly selector: VectorSelector
  /** Range in ms. */
  readonly range: number
  readonly pos: PosRange
}

export interface SubqueryExpr {
  readonly type: 'SubqueryExpr'
  readonly expr: Expr
  readonly range: number
  /** Step in ms; 0 means the engine's default subquery step. */
  readonly step: number
  readonly offset: number
  readonly at?: AtModifier
  readonly pos: PosRange
}

export interface Call {
  readonly type: 'Call'
  readonly func: string
  readonly args: readonly Expr[]
  readonly pos: PosRange
}

export type AggregateOp =
  | 'sum' | 'avg' | 'count' | 'min' | 'max' | 'group' | 'stddev' | 'stdvar'
  | 'topk' | 'bottomk' | 'count_values' | 'quantile' | 'limitk' | 'limit_ratio'

export interface AggregateExpr {
  readonly type: 'AggregateExpr'
  readonly op: AggregateOp
  readonly expr: Expr
  /** k, quantile, label name (count_values) or ratio. */
  readonly param?: Expr
  readonly grouping: readonly string[]
  readonly without: boolean
  /** `by ()`/`without ()` was written (printer only). */
  readonly hasGrouping: boolean
  readonly pos: PosRange
}

export type BinaryOp =
  | '+' | '-' | '*' | '/' | '%' | '^' | 'atan2'
  | '==' | '!=' | '>' | '<' | '>=' | '<='
  | 'and' | 'or' | 'unless'

export type Cardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many'

export interface VectorMatching {
  readonly card: Cardinality
  /** `on(...)` (true) or `ignoring(...)` (false). */
  readonly on: boolean
  readonly labels: readonly string[]
  /** Labels listed in group_left(...)/group_right(...). */
  readonly include: readonly string[]
  /** on/ignoring was written (printer only). */
  readonly explicit: boolean
}

export interface BinaryExpr {
  readonly type: 'BinaryExpr'
  readonly op: BinaryOp
  readonly lhs: Expr
  readonly rhs: Expr
  /** Present when both sides are instant vectors. */
  readonly matching?: VectorMatching
  readonly returnBool: boolean
  readonly pos: PosRange
}

export interface UnaryExpr {
  readonly type: 'UnaryExpr'
  readonly op: '+' | '-'
  readonly expr: Expr
  readonly pos: PosRange
}

export interface ParenExpr {
  readonly type: 'ParenExpr'
  readonly expr: Expr
  readonly pos: PosRange
}

export type Expr =
  | NumberLiteral | StringLiteral | VectorSelector | MatrixSelector | SubqueryExpr
  | Call | AggregateExpr | BinaryExpr | UnaryExpr | ParenExpr

export function isComparisonOp(op: BinaryOp): boolean {
  return op === '==' || op === '!=' || op === '>' || op === '<' || op === '>=' || op === '<='
}

export function isSetOp(op: BinaryOp): boolean {
  return op === 'and' || op === 'or' || op === 'unless'
}

/** Every vector selector in the tree (those of matrix selectors and subqueries included). */
export function selectorsIn(e: Expr): VectorSelector[] {
  switch (e.type) {
    case 'VectorSelector': return [e]
    case 'MatrixSelector': return [e.selector]
    case 'SubqueryExpr': case 'ParenExpr': case 'UnaryExpr': return selectorsIn(e.expr)
    case 'Call': return e.args.flatMap(selectorsIn)
    case 'AggregateExpr': return [...selectorsIn(e.expr), ...(e.param ? selectorsIn(e.param) : [])]
    case 'BinaryExpr': return [...selectorsIn(e.lhs), ...selectorsIn(e.rhs)]
    default: return []
  }
}
