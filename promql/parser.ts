/**
 * PromQL text -> typed AST (ast.ts), with Prometheus's type checks and error messages.
 *
 * A hand-written precedence-climbing parser over lexer.ts tokens. It mirrors the Prometheus
 * grammar where the lezer grammar does not: a sign binds looser than `^` (`-1 ^ 2` is -1),
 * `offset`/`@`/`[...]` bind to the selector or subquery right before them, the first error
 * is thrown (PromQLParseError with `line:col` and offsets), and the semantic checks of
 * Prometheus's checkAST run on every node (`rate(foo)` and `{job=~".*"}` are rejected).
 */
import type { LabelMatcher, MatchType } from './api.js'
import type {
  AggregateExpr, AggregateOp, AtModifier, BinaryExpr, BinaryOp, Call, Cardinality, Expr, MatrixSelector,
  PosRange, SubqueryExpr, ValueType, VectorMatching, VectorSelector,
} from './ast.js'
import { isComparisonOp, isSetOp } from './ast.js'
import { FUNCTIONS } from './function-signatures.js'
import { parseDuration, parseError, parseNumberLiteral, tokenize, unquoteString, type Token } from './lexer.js'
import { compileAnchored } from './regex.js'

export interface ParseOptions {
  /** Allow Prometheus's experimental functions (sort_by_label, mad_over_time, ...). Default true. */
  readonly experimentalFunctions?: boolean
  /** Allow arithmetic in `[...]` and after `offset` (Prometheus's experimental duration expressions). Default true. */
  readonly durationExpressions?: boolean
}

const AGGREGATORS = new Set<string>([
  'sum', 'avg', 'count', 'min', 'max', 'group', 'stddev', 'stdvar',
  'topk', 'bottomk', 'count_values', 'quantile', 'limitk', 'limit_ratio',
])
const PARAM_AGGREGATORS = new Set<string>(['topk', 'bottomk', 'count_values', 'quantile', 'limitk', 'limit_ratio'])

/** Binary operator precedence (higher binds tighter) as in Prometheus's grammar. */
const PRECEDENCE: Record<string, number> = {
  or: 1, and: 2, unless: 2,
  '==': 3, '!=': 3, '<=': 3, '<': 3, '>=': 3, '>': 3,
  '+': 4, '-': 4,
  '*': 5, '/': 5, '%': 5, atan2: 5,
  '^': 6,
}
/** A leading sign parses its operand at this level: looser than `^`, tighter than `*`. */
const UNARY_PRECEDENCE = 6

/** Words the lexer leaves as identifiers but the grammar treats as keywords (lower case). */
const KEYWORDS = new Set(['and', 'or', 'unless', 'atan2', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset'])

export function documentedType(t: ValueType): string {
  switch (t) {
    case 'vector': return 'instant vector'
    case 'matrix': return 'range vector'
    default: return t
  }
}

/** The value type an expression evaluates to. */
export function typeOf(e: Expr): ValueType {
  switch (e.type) {
    case 'NumberLiteral': return 'scalar'
    case 'StringLiteral': return 'string'
    case 'VectorSelector': return 'vector'
    case 'MatrixSelector': case 'SubqueryExpr': return 'matrix'
    case 'Call': return FUNCTIONS.get(e.func)?.returnType ?? 'vector'
    case 'AggregateExpr': return 'vector'
    case 'BinaryExpr': return typeOf(e.lhs) === 'scalar' && typeOf(e.rhs) === 'scalar' ? 'scalar' : 'vector'
    case 'UnaryExpr': case 'ParenExpr': return typeOf(e.expr)
  }
}

/** Parses and type-checks a PromQL expression; throws PromQLParseError. */
export function parsePromQL(input: string, opts: ParseOptions = {}): Expr {
  try {
    return new Parser(input, opts).parseTop()
  } catch (e) {
    // A pathological nesting depth exhausts the JS stack: that is bad input, not a crash.
    if (e instanceof RangeError) throw parseError(input, 0, input.length, 'expression nested too deeply')
    throw e
  }
}

/**
 * Parses a series selector as used by /api/v1/series `match[]` and promqltest `load` lines:
 * `name{label="v",...}` (matchers only; no offset or range).
 */
export function parseSeriesSelector(input: string): LabelMatcher[] {
  const e = parsePromQL(input)
  if (e.type !== 'VectorSelector' || e.offset !== 0 || e.at) {
    throw parseError(input, 0, input.length, `expected a series selector, got ${JSON.stringify(input)}`)
  }
  return [...e.matchers]
}

/**
 * Parses a literal series description (`name{a="b"}`, as in promqltest `load` lines) into labels.
 * Only `=` matchers are allowed.
 */
export function parseMetric(input: string): Record<string, string> {
  const p = new Parser(input, {})
  const labels = p.parseMetricOnly()
  return labels
}

class Parser {
  private readonly toks: Token[]
  private i = 0

  constructor(private readonly input: string, private readonly opts: ParseOptions) {
    this.toks = tokenize(input)
  }

  private cur(): Token { return this.toks[this.i] }
  private peekTok(n = 1): Token { return this.toks[Math.min(this.i + n, this.toks.length - 1)] }
  private next(): Token { const t = this.toks[this.i]; if (t.kind !== 'EOF') this.i++; return t }
  private isOp(text: string, t: Token = this.cur()): boolean { return t.kind === 'OP' && t.text === text }
  private isWord(word: string, t: Token = this.cur()): boolean { return t.kind === 'IDENT' && t.text.toLowerCase() === word }

  private err(pos: PosRange, msg: string): never { throw parseError(this.input, pos.start, pos.end, msg) }

  private describe(t: Token): string {
    switch (t.kind) {
      case 'EOF': return 'end of input'
      case 'NUMBER': return `number ${JSON.stringify(t.text)}`
      case 'DURATION': return `duration ${JSON.stringify(t.text)}`
      case 'STRING': return `string ${JSON.stringify(t.text)}`
      case 'IDENT': {
        const w = t.text.toLowerCase()
        if (KEYWORDS.has(w) || AGGREGATORS.has(w)) return JSON.stringify(t.text)
        return `${t.text.includes(':') ? 'metric identifier' : 'identifier'} ${JSON.stringify(t.text)}`
      }
      default: return JSON.stringify(t.text)
    }
  }

  private unexpected(context: string, expected?: string, t: Token = this.cur()): never {
    let msg = `unexpected ${this.describe(t)}`
    if (context) msg += ` in ${context}`
    if (expected) msg += `, expected ${expected}`
    this.err(t, msg)
  }

  private expectOp(text: string, context: string): Token {
    if (!this.isOp(text)) this.unexpected(context, JSON.stringify(text))
    return this.next()
  }

  parseTop(): Expr {
    if (this.cur().kind === 'EOF') this.err(this.cur(), 'no expression found in input')
    const e = this.parseExpr(0)
    if (this.cur().kind !== 'EOF') {
      const t = this.cur()
      if (this.isOp(')')) this.err(t, `unexpected right parenthesis ')'`)
      this.unexpected('', undefined, t)
    }
    return e
  }

  parseMetricOnly(): Record<string, string> {
    const t = this.cur()
    let name: string | undefined
    if (t.kind === 'IDENT') { name = t.text; this.next() }
    const matchers = this.isOp("{") ? this.parseMatchers().list : []
    if (this.cur().kind !== 'EOF') this.unexpected('series description')
    const labels: Record<string, string> = {}
    if (name !== undefined) labels.__name__ = name
    for (const m of matchers) {
      if (m.type !== '=') this.err(t, `expected "=" in series description, got ${m.type}`)
      labels[m.name] = m.value
    }
    return labels
  }

  // ---- expressions --------------------------------------------------------------------

  private binaryOpAt(t: Token): BinaryOp | undefined {
    if (t.kind === 'OP' && t.text in PRECEDENCE) return t.text as BinaryOp
    if (t.kind === 'IDENT') {
      const w = t.text.toLowerCase()
      if (w === 'and' || w === 'or' || w === 'unless' || w === 'atan2') return w
    }
    return undefined
  }

  private parseExpr(minPrec: number): Expr {
    let lhs = this.parseUnary()
    while (true) {
      const opTok = this.cur()
      const op = this.binaryOpAt(opTok)
      if (!op) return lhs
      const prec = PRECEDENCE[op]
      if (prec < minPrec) return lhs
      this.next()
      const { returnBool, matching } = this.parseBinModifiers(op, opTok)
      if (this.cur().kind === 'EOF') this.unexpected('', undefined)
      // `^` is right-associative; everything else left.
      const rhs = this.parseExpr(op === '^' ? prec : prec + 1)
      lhs = this.makeBinary(op, lhs, rhs, returnBool, matching, opTok)
    }
  }

  private parseBinModifiers(op: BinaryOp, opTok: Token): { returnBool: boolean; matching?: { on: boolean; labels: string[]; card: Cardinality; include: string[]; explicit: boolean } } {
    let returnBool = false
    if (this.isWord('bool')) {
      this.next()
      returnBool = true
      if (!isComparisonOp(op)) this.err(opTok, 'bool modifier can only be used on comparison operators')
    }
    let on = false
    let labels: string[] = []
    let explicit = false
    let card: Cardinality = isSetOp(op) ? 'many-to-many' : 'one-to-one'
    let include: string[] = []
    if (this.isWord('on') || this.isWord('ignoring')) {
      on = this.isWord('on')
      this.next()
      explicit = true
      labels = this.parseLabelList('grouping opts')
      if (this.isWord('group_left') || this.isWord('group_right')) {
        const g = this.next()
        if (isSetOp(op)) this.err(g, 'no grouping allowed for "' + op + '" operation')
        card = g.text.toLowerCase() === 'group_left' ? 'many-to-one' : 'one-to-many'
        if (this.isOp('(')) include = this.parseLabelList('grouping opts')
      }
    }
    return { returnBool, matching: { on, labels, card, include, explicit } }
  }

  private parseLabelList(context: string): string[] {
    this.expectOp('(', context)
    const out: string[] = []
    while (!this.isOp(')')) {
      const t = this.cur()
      if (t.kind === 'IDENT') {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(t.text)) this.err(t, `invalid label name ${JSON.stringify(t.text)}`)
        out.push(t.text)
      } else if (t.kind === 'STRING') {
        out.push(this.unquote(t))
      } else {
        this.unexpected(context, '")", "," or identifier')
      }
      this.next()
      if (this.isOp(',')) this.next()
      else if (!this.isOp(')')) this.unexpected(context, '")" or ","')
    }
    this.next()
    return out
  }

  private parseUnary(): Expr {
    const t = this.cur()
    if (this.isOp('-') || this.isOp('+')) {
      this.next()
      const operand = this.parseExpr(UNARY_PRECEDENCE)
      const pos = { start: t.start, end: operand.pos.end }
      if (operand.type === 'NumberLiteral') {
        return { ...operand, value: t.text === '-' ? -operand.value : operand.value, pos }
      }
      const ty = typeOf(operand)
      if (ty !== 'scalar' && ty !== 'vector') {
        this.err(pos, `unary expression only allowed on expressions of type scalar or instant vector, got ${JSON.stringify(documentedType(ty))}`)
      }
      return { type: 'UnaryExpr', op: t.text as '+' | '-', expr: operand, pos }
    }
    return this.parsePostfix(this.parsePrimary())
  }

  private parsePrimary(): Expr {
    const t = this.cur()
    switch (t.kind) {
      case 'NUMBER': {
        this.next()
        let value: number
        try { value = parseNumberLiteral(t.text) } catch { this.err(t, `error parsing number: strconv.ParseFloat: parsing ${JSON.stringify(t.text)}: invalid syntax`) }
        return { type: 'NumberLiteral', value, pos: t }
      }
      case 'DURATION': {
        this.next()
        return { type: 'NumberLiteral', value: this.durationMs(t) / 1000, duration: true, pos: t }
      }
      case 'STRING':
        this.next()
        return { type: 'StringLiteral', value: this.unquote(t), pos: t }
      case 'OP':
        if (t.text === '(') {
          this.next()
          if (this.isOp(')')) this.unexpected('paren expression')
          const inner = this.parseExpr(0)
          const close = this.cur()
          if (!this.isOp(')')) this.unexpected('paren expression', '")"')
          this.next()
          return { type: 'ParenExpr', expr: inner, pos: { start: t.start, end: close.end } }
        }
        if (t.text === '{') return this.parseVectorSelector(undefined, t)
        return this.unexpected('', undefined)
      case 'IDENT': {
        const w = t.text.toLowerCase()
        if (w === 'inf' || w === 'nan') {
          this.next()
          return { type: 'NumberLiteral', value: w === 'inf' ? Infinity : NaN, pos: t }
        }
        const after = this.peekTok()
        if (AGGREGATORS.has(w) && (this.isOp('(', after) || this.isWord('by', after) || this.isWord('without', after))) {
          return this.parseAggregate()
        }
        if (this.isOp('(', after)) return this.parseCall()
        if (KEYWORDS.has(w) && w !== 'offset' && w !== 'by' && w !== 'without' && w !== 'on' && w !== 'ignoring' && w !== 'bool' && w !== 'group_left' && w !== 'group_right') {
          return this.unexpected('')
        }
        if (AGGREGATORS.has(w)) this.unexpected('aggregation', '"("', after)
        this.next()
        return this.parseVectorSelector(t.text, t)
      }
      default:
        return this.unexpected('')
    }
  }

  private unquote(t: Token): string {
    try {
      return unquoteString(t.text)
    } catch {
      return this.err(t, `error unquoting string ${JSON.stringify(t.text)}: invalid syntax`)
    }
  }

  private durationMs(t: Token): number {
    try {
      return parseDuration(t.text)
    } catch (e) {
      return this.err(t, (e as Error).message)
    }
  }

  // ---- selectors ----------------------------------------------------------------------

  private parseMatchers(): { list: LabelMatcher[]; end: number } {
    this.expectOp('{', 'label matching')
    const list: LabelMatcher[] = []
    while (!this.isOp('}')) {
      const nameTok = this.cur()
      let name: string
      if (nameTok.kind === 'IDENT') name = nameTok.text
      else if (nameTok.kind === 'STRING') name = this.unquote(nameTok)
      else return this.unexpected('label matching', 'identifier or "}"')
      this.next()
      const opTok = this.cur()
      if (nameTok.kind === 'STRING' && (this.isOp(',') || this.isOp('}'))) {
        // `{"metric.name"}`: a quoted metric name on its own (UTF-8 names, Prometheus 3).
        list.push({ type: '=', name: '__name__', value: name })
      } else {
        if (!(opTok.kind === 'OP' && (opTok.text === '=' || opTok.text === '!=' || opTok.text === '=~' || opTok.text === '!~'))) {
          this.unexpected('label matching', 'label matching operator')
        }
        this.next()
        const valTok = this.cur()
        if (valTok.kind !== 'STRING') this.unexpected('label matching', 'string')
        this.next()
        const value = this.unquote(valTok)
        const type = opTok.text as MatchType
        if (type === '=~' || type === '!~') {
          try {
            compileAnchored(value)
          } catch (e) {
            this.err({ start: nameTok.start, end: valTok.end }, `error parsing regexp: ${(e as Error).message}`)
          }
        }
        list.push({ type, name, value })
      }
      if (this.isOp(',')) this.next()
      else if (!this.isOp('}')) this.unexpected('label matching', '"," or "}"')
    }
    const end = this.next().end
    return { list, end }
  }

  private parseVectorSelector(name: string | undefined, first: Token): VectorSelector {
    let matchers: LabelMatcher[] = []
    let end = first.end
    if (this.isOp('{')) {
      const m = this.parseMatchers()
      matchers = m.list
      end = m.end
    }
    const pos = { start: first.start, end }
    if (name !== undefined) {
      for (const m of matchers) {
        if (m.name === '__name__') this.err(pos, `metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(m.value)}`)
      }
      matchers.push({ type: '=', name: '__name__', value: name })
    } else if (!matchers.some((m) => !matcherMatchesEmpty(m))) {
      this.err(pos, 'vector selector must contain at least one non-empty matcher')
    }
    return { type: 'VectorSelector', name, matchers, offset: 0, pos }
  }

  // ---- postfix: [range], [range:step], offset, @ ---------------------------------------

  private parsePostfix(e: Expr): Expr {
    while (true) {
      const t = this.cur()
      if (this.isOp('[')) {
        e = this.parseRangeOrSubquery(e)
      } else if (this.isWord('offset')) {
        this.next()
        const offset = this.literalDuration(() => this.parseOffsetDuration())
        e = this.applyOffset(e, offset, { start: e.pos.start, end: this.toks[this.i - 1].end }, t)
      } else if (this.isOp('@')) {
        this.next()
        const at = this.parseAt()
        e = this.applyAt(e, at, { start: e.pos.start, end: this.toks[this.i - 1].end })
      } else {
        return e
      }
    }
  }

  private parseRangeOrSubquery(e: Expr): Expr {
    const open = this.next()
    if (this.isOp(']')) this.unexpected('subquery or range', undefined)
    const range = this.literalDuration(() => this.parseDurationExpr())
    if (range <= 0) this.err({ start: open.end, end: this.cur().start }, `duration must be greater than 0`)
    if (this.isOp(']')) {
      const close = this.next()
      const pos = { start: e.pos.start, end: close.end }
      if (e.type !== 'VectorSelector') this.err({ start: open.start, end: close.end }, 'ranges only allowed for vector selectors')
      if (e.offset !== 0) this.err({ start: open.start, end: close.end }, 'no offset modifiers allowed before range')
      if (e.at) this.err({ start: open.start, end: close.end }, 'no @ modifiers allowed before range')
      const m: MatrixSelector = { type: 'MatrixSelector', selector: e, range, pos }
      return m
    }
    if (!this.isOp(':')) this.unexpected('subquery or range', '":" or "]"')
    this.next()
    let step = 0
    if (!this.isOp(']')) {
      step = this.literalDuration(() => this.parseDurationExpr())
      if (step <= 0) this.err(this.toks[this.i - 1], 'duration must be greater than 0')
    }
    if (!this.isOp(']')) this.unexpected('subquery selector', '"]"')
    const close = this.next()
    const ty = typeOf(e)
    if (ty !== 'vector') this.err({ start: e.pos.start, end: close.end }, `subquery is only allowed on instant vector, got ${documentedType(ty)} instead`)
    const s: SubqueryExpr = { type: 'SubqueryExpr', expr: e, range, step, offset: 0, pos: { start: e.pos.start, end: close.end } }
    return s
  }

  /**
   * Runs a duration parse; with duration expressions disabled, only a (signed) literal may
   * have been written, as in a Prometheus server without the experimental feature.
   */
  private literalDuration(parse: () => number): number {
    const first = this.i
    const v = parse()
    if (this.opts.durationExpressions === false) {
      const toks = this.toks.slice(first, this.i)
      const literal = toks.length === 1 || (toks.length === 2 && (toks[0].text === '-' || toks[0].text === '+'))
      if (!literal) this.err({ start: toks[0].start, end: toks[toks.length - 1].end }, 'experimental duration expression is not enabled')
    }
    return v
  }

  /** Duration arithmetic inside `[...]` and after `offset` (Prometheus 3 duration expressions). Returns ms. */
  private parseDurationExpr(minPrec = 0): number {
    let lhs = this.parseDurationUnary()
    while (true) {
      const t = this.cur()
      if (t.kind !== 'OP' || !['+', '-', '*', '/', '%', '^'].includes(t.text)) return lhs
      const prec = PRECEDENCE[t.text]
      if (prec < minPrec) return lhs
      this.next()
      const rhs = this.parseDurationExpr(t.text === '^' ? prec : prec + 1)
      lhs = this.durationArith(t, lhs, rhs)
    }
  }

  private durationArith(t: Token, a: number, b: number): number {
    // Durations are computed in seconds like Prometheus (ms / 1000), then rounded to ms.
    const sa = a / 1000, sb = b / 1000
    let v: number
    switch (t.text) {
      case '+': v = sa + sb; break
      case '-': v = sa - sb; break
      case '*': v = sa * sb; break
      case '/':
        if (sb === 0) this.err(t, 'division by zero')
        v = sa / sb
        break
      case '%':
        if (sb === 0) this.err(t, 'modulo by zero')
        v = sa % sb
        break
      default: v = Math.pow(sa, sb)
    }
    if (!Number.isFinite(v) || Math.abs(v) > 9.2e9) this.err(t, 'duration out of range')
    return Math.round(v * 1000)
  }

  private parseDurationUnary(): number {
    const t = this.cur()
    if (this.isOp('-') || this.isOp('+')) {
      this.next()
      const v = this.parseDurationExpr(UNARY_PRECEDENCE)
      return t.text === '-' ? -v : v
    }
    if (t.kind === 'NUMBER') {
      this.next()
      let v: number
      try { v = parseNumberLiteral(t.text) } catch { this.err(t, `bad number syntax: ${JSON.stringify(t.text)}`) }
      if (!Number.isFinite(v) || Math.abs(v) > 9.2e9) this.err(t, 'duration out of range')
      return Math.round(v * 1000)
    }
    if (t.kind === 'DURATION') {
      this.next()
      return this.durationMs(t)
    }
    if (this.isOp('(')) {
      this.next()
      const v = this.parseDurationExpr(0)
      this.expectOp(')', 'duration expression')
      return v
    }
    return this.unexpected('duration expression', 'number, duration, or "("')
  }

  /** After `offset`: a signed literal or a parenthesised duration expression (`x offset 2 ^ 2` is `(x offset 2) ^ 2`). */
  private parseOffsetDuration(): number {
    const t = this.cur()
    if (this.isOp('(')) return this.parseDurationUnary()
    let sign = 1
    if (this.isOp('-') || this.isOp('+')) {
      if (t.text === '-') sign = -1
      this.next()
    }
    const n = this.cur()
    if (n.kind !== 'NUMBER' && n.kind !== 'DURATION' && !this.isOp('(')) this.unexpected('offset', 'number or duration')
    return sign * this.parseDurationUnary()
  }

  private parseAt(): AtModifier {
    const t = this.cur()
    const w = t.kind === 'IDENT' ? t.text.toLowerCase() : ''
    if ((w === 'start' || w === 'end') && this.isOp('(', this.peekTok())) {
      this.next(); this.next()
      this.expectOp(')', '@ modifier')
      return { kind: w }
    }
    let sign = 1
    if (this.isOp('-') || this.isOp('+')) {
      if (this.cur().text === '-') sign = -1
      this.next()
    }
    const n = this.cur()
    let secs: number
    if (n.kind === 'NUMBER') secs = parseNumberLiteral(n.text)
    else if (n.kind === 'DURATION') secs = this.durationMs(n) / 1000
    else return this.unexpected('@', 'timestamp')
    this.next()
    secs *= sign
    const ms = Math.round(secs * 1000)
    if (!Number.isFinite(secs) || Math.abs(ms) > 9.223372036854776e18) {
      this.err({ start: t.start, end: n.end }, `timestamp out of bounds for @ modifier: ${secs.toFixed(6)}`)
    }
    return { kind: 'time', t: ms }
  }

  private applyOffset(e: Expr, offset: number, pos: PosRange, offTok: Token): Expr {
    switch (e.type) {
      case 'VectorSelector':
        if (e.offset !== 0) this.err(pos, 'offset may not be set multiple times')
        return { ...e, offset, pos: { start: e.pos.start, end: pos.end } }
      case 'MatrixSelector':
        if (e.selector.offset !== 0) this.err(pos, 'offset may not be set multiple times')
        return { ...e, selector: { ...e.selector, offset }, pos: { start: e.pos.start, end: pos.end } }
      case 'SubqueryExpr':
        if (e.offset !== 0) this.err(pos, 'offset may not be set multiple times')
        return { ...e, offset, pos: { start: e.pos.start, end: pos.end } }
      default:
        return this.err({ start: e.pos.start, end: offTok.end }, 'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery')
    }
  }

  private applyAt(e: Expr, at: AtModifier, pos: PosRange): Expr {
    switch (e.type) {
      case 'VectorSelector':
        if (e.at) this.err(pos, '@ <timestamp> may not be set multiple times')
        return { ...e, at, pos: { start: e.pos.start, end: pos.end } }
      case 'MatrixSelector':
        if (e.selector.at) this.err(pos, '@ <timestamp> may not be set multiple times')
        return { ...e, selector: { ...e.selector, at }, pos: { start: e.pos.start, end: pos.end } }
      case 'SubqueryExpr':
        if (e.at) this.err(pos, '@ <timestamp> may not be set multiple times')
        return { ...e, at, pos: { start: e.pos.start, end: pos.end } }
      default:
        return this.err(pos, '@ modifier must be preceded by an instant vector selector or range vector selector or a subquery')
    }
  }

  // ---- calls and aggregations ---------------------------------------------------------

  private parseCall(): Call {
    const nameTok = this.next()
    const name = nameTok.text
    const sig = FUNCTIONS.get(name)
    if (!sig) this.err(nameTok, `unknown function with name ${JSON.stringify(name)}`)
    if (sig.experimental && this.opts.experimentalFunctions === false) {
      this.err(nameTok, `function ${JSON.stringify(name)} is not enabled`)
    }
    this.next() // (
    const args: Expr[] = []
    while (!this.isOp(')')) {
      if (this.cur().kind === 'EOF') this.unexpected('function call', '")"')
      args.push(this.parseExpr(0))
      if (this.isOp(',')) {
        this.next()
        if (this.isOp(')')) this.unexpected('function call', 'expression')
      } else if (!this.isOp(')')) {
        this.unexpected('function call', '"," or ")"')
      }
    }
    const close = this.next()
    const pos = { start: nameTok.start, end: close.end }
    this.checkCall(name, args, pos)
    return { type: 'Call', func: name, args, pos }
  }

  private checkCall(name: string, args: Expr[], pos: PosRange): void {
    const sig = FUNCTIONS.get(name)!
    const nargs = sig.argTypes.length
    if (sig.variadic === 0) {
      if (args.length !== nargs) this.err(pos, `expected ${nargs} argument(s) in call to ${JSON.stringify(name)}, got ${args.length}`)
    } else {
      const min = sig.variadic > 0 ? nargs - sig.variadic : nargs - 1
      if (args.length < min) this.err(pos, `expected at least ${min} argument(s) in call to ${JSON.stringify(name)}, got ${args.length}`)
      if (sig.variadic > 0 && args.length > nargs) this.err(pos, `expected at most ${nargs} argument(s) in call to ${JSON.stringify(name)}, got ${args.length}`)
    }
    args.forEach((arg, i) => {
      const want = sig.argTypes[Math.min(i, nargs - 1)]
      const got = typeOf(arg)
      if (got !== want) {
        this.err(arg.pos, `expected type ${documentedType(want)} in call to function ${JSON.stringify(name)}, got ${documentedType(got)}`)
      }
    })
  }

  private parseAggregate(): AggregateExpr {
    const opTok = this.next()
    const op = opTok.text.toLowerCase() as AggregateOp
    if ((op === 'limitk' || op === 'limit_ratio') && this.opts.experimentalFunctions === false) {
      this.err(opTok, `${op}() is experimental and must be enabled with --enable-feature=promql-experimental-functions`)
    }
    let grouping: string[] = []
    let without = false
    let hasGrouping = false
    const parseGrouping = (): void => {
      without = this.isWord('without')
      this.next()
      grouping = this.parseLabelList('grouping opts')
      hasGrouping = true
    }
    if (this.isWord('by') || this.isWord('without')) parseGrouping()
    if (!this.isOp('(')) this.unexpected('aggregation', '"("')
    this.next()
    const args: Expr[] = []
    while (!this.isOp(')')) {
      if (this.cur().kind === 'EOF') this.unexpected('aggregation', '")"')
      args.push(this.parseExpr(0))
      if (this.isOp(',')) {
        this.next()
      } else if (!this.isOp(')')) {
        this.unexpected('aggregation', '"," or ")"')
      }
    }
    let end = this.next().end
    if (!hasGrouping && (this.isWord('by') || this.isWord('without'))) {
      parseGrouping()
      end = this.toks[this.i - 1].end
    }
    const pos = { start: opTok.start, end }
    if (args.length === 0) this.err(pos, 'no arguments for aggregate expression provided')
    const want = PARAM_AGGREGATORS.has(op) ? 2 : 1
    if (args.length !== want) {
      this.err(pos, `wrong number of arguments for aggregate expression provided, expected ${want}, got ${args.length}`)
    }
    const expr = args[want - 1]
    const param = want === 2 ? args[0] : undefined
    const ty = typeOf(expr)
    if (ty !== 'vector') this.err(expr.pos, `expected type instant vector in aggregation expression, got ${documentedType(ty)}`)
    if (param) {
      const pt = typeOf(param)
      const wantP: ValueType = op === 'count_values' ? 'string' : 'scalar'
      if (pt !== wantP) this.err(param.pos, `expected type ${documentedType(wantP)} in aggregation parameter, got ${documentedType(pt)}`)
    }
    return { type: 'AggregateExpr', op, expr, param, grouping, without, hasGrouping, pos }
  }

  // ---- binary expressions -------------------------------------------------------------

  private makeBinary(
    op: BinaryOp, lhs: Expr, rhs: Expr, returnBool: boolean,
    m: { on: boolean; labels: string[]; card: Cardinality; include: string[]; explicit: boolean } | undefined,
    opTok: Token,
  ): BinaryExpr {
    const pos = { start: lhs.pos.start, end: rhs.pos.end }
    const lt = typeOf(lhs)
    const rt = typeOf(rhs)
    if (returnBool && !isComparisonOp(op)) this.err(opTok, 'bool modifier can only be used on comparison operators')
    if (isComparisonOp(op) && !returnBool && lt === 'scalar' && rt === 'scalar') {
      this.err(opTok, 'comparisons between scalars must use BOOL modifier')
    }
    if (m && m.on && m.card !== 'one-to-one' && m.card !== 'many-to-many') {
      for (const l of m.include) {
        if (m.labels.includes(l)) this.err(opTok, `label ${JSON.stringify(l)} must not occur in ON and GROUP clause at once`)
      }
    }
    if (lt !== 'scalar' && lt !== 'vector') this.err(lhs.pos, 'binary expression must contain only scalar and instant vector types')
    if (rt !== 'scalar' && rt !== 'vector') this.err(rhs.pos, 'binary expression must contain only scalar and instant vector types')
    let matching: VectorMatching | undefined
    if (lt === 'vector' && rt === 'vector') {
      matching = m
      if (isSetOp(op) && m && (m.card === 'one-to-many' || m.card === 'many-to-one')) this.err(pos, `no grouping allowed for ${JSON.stringify(op)} operation`)
    } else {
      // `on()`/`group_left()` with no labels are accepted (and ignored) next to a scalar.
      if (m && m.labels.length > 0) this.err(pos, 'vector matching only allowed between instant vectors')
      if (isSetOp(op)) this.err(pos, `set operator ${JSON.stringify(op)} not allowed in binary scalar expression`)
    }
    return { type: 'BinaryExpr', op, lhs, rhs, matching, returnBool, pos }
  }
}

/** Whether a matcher accepts the empty string (a selector needs one that does not). */
export function matcherMatchesEmpty(m: LabelMatcher): boolean {
  switch (m.type) {
    case '=': return m.value === ''
    case '!=': return m.value !== ''
    case '=~': return compileAnchored(m.value).matches('')
    case '!~': return !compileAnchored(m.value).matches('')
  }
}

