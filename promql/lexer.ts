/**
 * PromQL tokenizer. Hand-written (not the lezer grammar) because Prometheus's own lexer is
 * context-dependent: inside `{...}` every word is a label name, inside `[...]` words are
 * durations, and `5m` is a duration everywhere. Errors carry the offset so the parser can
 * report `line:col` as Prometheus does.
 */
import { PromQLParseError } from './api.js'

export type TokenKind = 'NUMBER' | 'DURATION' | 'STRING' | 'IDENT' | 'OP' | 'EOF'

export interface Token {
  readonly kind: TokenKind
  /** Raw text (OP: the operator; STRING: the quoted source text). */
  readonly text: string
  readonly start: number
  readonly end: number
}

/** Builds Prometheus's error text: `<line>:<col>: parse error: <msg>`. */
export function parseError(input: string, start: number, end: number, msg: string): PromQLParseError {
  let line = 1
  let lastBreak = -1
  for (let i = 0; i < start && i < input.length; i++) {
    if (input[i] === '\n') { line++; lastBreak = i }
  }
  return new PromQLParseError(`${line}:${start - lastBreak}: parse error: ${msg}`, { start, end })
}

const NUMBER_RE = /^(?:0[xX]_?[0-9a-fA-F][0-9a-fA-F_]*|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)/
const DURATION_RE = /^(?:\d+(?:ms|[smhdwy]))+/
const IDENT_START = /[A-Za-z_:]/
const IDENT_PART = /[A-Za-z0-9_:]/
const LABEL_PART = /[A-Za-z0-9_]/

export function isAlphaNumeric(ch: string | undefined): boolean {
  return ch !== undefined && /[A-Za-z0-9_]/.test(ch)
}

/** Splits the whole input into tokens, tracking brace/bracket context like Prometheus's lexer. */
export function tokenize(input: string): Token[] {
  const out: Token[] = []
  let pos = 0
  let braceOpen = false
  let bracketOpen = false
  let parenDepth = 0
  const fail = (start: number, msg: string, end = start + 1): never => { throw parseError(input, start, end, msg) }
  const push = (kind: TokenKind, start: number, end: number): void => { out.push({ kind, text: input.slice(start, end), start, end }) }

  while (pos < input.length) {
    const ch = input[pos]
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') { pos++; continue }
    if (ch === '#') {
      while (pos < input.length && input[pos] !== '\n') pos++
      continue
    }
    const start = pos
    if (ch === '"' || ch === "'" || ch === '`') {
      pos = scanString(input, pos, fail)
      push('STRING', start, pos)
      continue
    }
    if (braceOpen) {
      if (LABEL_PART.test(ch)) {
        while (pos < input.length && LABEL_PART.test(input[pos])) pos++
        push('IDENT', start, pos)
        continue
      }
      const two = input.slice(pos, pos + 2)
      if (two === '!=' || two === '=~' || two === '!~') { pos += 2; push('OP', start, pos); continue }
      if (ch === '!') fail(pos, `unexpected character after '!' inside braces: ${goQuoteRune(input[pos + 1])}`)
      if (ch === '=' || ch === ',') { pos++; push('OP', start, pos); continue }
      if (ch === '}') { pos++; braceOpen = false; push('OP', start, pos); continue }
      if (ch === '{') fail(pos, `unexpected left brace '{'`)
      fail(pos, `unexpected character inside braces: ${goQuoteRune(ch)}`)
    }
    if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(input[pos + 1] ?? ''))) {
      const rest = input.slice(pos)
      const dur = DURATION_RE.exec(rest)
      if (dur && !isAlphaNumeric(rest[dur[0].length])) {
        pos += dur[0].length
        push('DURATION', start, pos)
        continue
      }
      const num = NUMBER_RE.exec(rest)
      if (num && !isAlphaNumeric(rest[num[0].length]) && rest[num[0].length] !== '.') {
        pos += num[0].length
        push('NUMBER', start, pos)
        continue
      }
      let e = pos + (num ? num[0].length : 1)
      while (e < input.length && (isAlphaNumeric(input[e]) || input[e] === '.')) e++
      fail(start, `bad number or duration syntax: ${JSON.stringify(input.slice(start, e))}`, e)
    }
    if (IDENT_START.test(ch)) {
      if (bracketOpen && ch === ':') { pos++; push('OP', start, pos); continue }
      if (bracketOpen) {
        while (pos < input.length && /[A-Za-z_]/.test(input[pos])) pos++
        push('IDENT', start, pos)
        continue
      }
      while (pos < input.length && IDENT_PART.test(input[pos])) pos++
      push('IDENT', start, pos)
      continue
    }
    const two = input.slice(pos, pos + 2)
    if (two === '==' || two === '!=' || two === '<=' || two === '>=') { pos += 2; push('OP', start, pos); continue }
    if (two === '=~') fail(pos, `unexpected character after '=': '~'`)
    if (ch === '!') fail(pos, `unexpected character after '!': ${goQuoteRune(input[pos + 1])}`)
    switch (ch) {
      case '(': parenDepth++; break
      case ')':
        parenDepth--
        if (parenDepth < 0) fail(pos, `unexpected right parenthesis ')'`)
        break
      case '{': braceOpen = true; break
      case '[':
        if (bracketOpen) fail(pos, `unexpected left bracket '['`)
        bracketOpen = true
        break
      case ']':
        if (!bracketOpen) fail(pos, `unexpected right bracket ']'`)
        bracketOpen = false
        break
      case '+': case '-': case '*': case '/': case '%': case '^': case '<': case '>': case '=': case ',': case '@': case ':': case '}':
        break
      default:
        fail(pos, `unexpected character: ${goQuoteRune(ch)}`)
    }
    pos++
    push('OP', start, pos)
  }
  if (braceOpen) fail(input.length, 'unexpected end of input inside braces')
  if (parenDepth !== 0) fail(input.length, 'unclosed left parenthesis')
  if (bracketOpen) fail(input.length, 'unclosed left bracket')
  out.push({ kind: 'EOF', text: '', start: input.length, end: input.length })
  return out
}

function goQuoteRune(ch: string | undefined): string {
  if (ch === undefined) return "'\\x00'"
  if (ch === "'") return "'\\''"
  return `'${ch}'`
}

function scanString(input: string, pos: number, fail: (start: number, msg: string) => never): number {
  const quote = input[pos]
  let i = pos + 1
  while (true) {
    if (i >= input.length) fail(pos, quote === '`' ? 'unterminated raw string' : 'unterminated quoted string')
    const c = input[i]
    if (quote !== '`' && c === '\n') fail(pos, 'unterminated quoted string')
    if (quote !== '`' && c === '\\') { i += 2; continue }
    if (c === quote) return i + 1
    i++
  }
}

/** Go's strconv.Unquote for the three PromQL quote styles. */
export function unquoteString(raw: string): string {
  const quote = raw[0]
  const body = raw.slice(1, -1)
  if (quote === '`') return body
  let out = ''
  for (let i = 0; i < body.length; i++) {
    const c = body[i]
    if (c !== '\\') {
      if (c === quote) throw new Error('invalid syntax')
      out += c
      continue
    }
    const e = body[++i]
    switch (e) {
      case 'a': out += '\x07'; break
      case 'b': out += '\b'; break
      case 'f': out += '\f'; break
      case 'n': out += '\n'; break
      case 'r': out += '\r'; break
      case 't': out += '\t'; break
      case 'v': out += '\v'; break
      case '\\': out += '\\'; break
      case '"': case "'":
        if (e !== quote) throw new Error('invalid syntax')
        out += e
        break
      case 'x': case 'u': case 'U': {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8
        const hex = body.slice(i + 1, i + 1 + n)
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw new Error('invalid syntax')
        const code = parseInt(hex, 16)
        if (e === 'x') {
          // \xNN is one byte; decode runs of bytes as UTF-8 like Go strings do.
          const bytes = [code]
          let j = i + 1 + n
          while (body[j] === '\\' && body[j + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(j + 2, j + 4))) {
            bytes.push(parseInt(body.slice(j + 2, j + 4), 16))
            j += 4
          }
          out += Buffer.from(bytes).toString('utf8')
          i = j - 1
        } else {
          if (code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) throw new Error('invalid syntax')
          out += String.fromCodePoint(code)
          i += n
        }
        break
      }
      default:
        if (e !== undefined && /[0-7]/.test(e)) {
          const oct = body.slice(i, i + 3)
          if (!/^[0-7]{3}$/.test(oct)) throw new Error('invalid syntax')
          const v = parseInt(oct, 8)
          if (v > 255) throw new Error('invalid syntax')
          out += Buffer.from([v]).toString('latin1')
          i += 2
          break
        }
        throw new Error('invalid syntax')
    }
  }
  return out
}

/** Go's ParseInt(s, 0, 64) then ParseFloat(s, 64), as Prometheus's number(). */
export function parseNumberLiteral(text: string): number {
  const lower = text.toLowerCase()
  if (lower === 'inf' || lower === '+inf') return Infinity
  if (lower === '-inf') return -Infinity
  if (lower === 'nan') return NaN
  const s = text.replace(/_/g, '')
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) return Number.parseInt(s.slice(2), 16)
  if (/^0[0-7]+$/.test(s)) return Number.parseInt(s.slice(1), 8)
  const v = Number(s)
  if (Number.isNaN(v)) throw new Error(`bad number syntax: ${JSON.stringify(text)}`)
  return v
}

const UNIT_MS: Record<string, number> = { y: 365 * 86400000, w: 7 * 86400000, d: 86400000, h: 3600000, m: 60000, s: 1000, ms: 1 }
const UNIT_ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms']

/** Prometheus's model.ParseDuration: units in descending order, each at most once. Returns ms. */
export function parseDuration(text: string): number {
  if (text === '0') return 0
  const re = /(\d+)(ms|[smhdwy])/gy
  let total = 0
  let lastUnit = -1
  let consumed = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) {
    const idx = UNIT_ORDER.indexOf(m[2])
    if (idx <= lastUnit) throw new Error(`not a valid duration string: ${JSON.stringify(text)}`)
    lastUnit = idx
    total += Number(m[1]) * UNIT_MS[m[2]]
    consumed = re.lastIndex
  }
  if (consumed !== text.length || text.length === 0) throw new Error(`not a valid duration string: ${JSON.stringify(text)}`)
  if (!Number.isSafeInteger(total)) throw new Error(`duration out of range`)
  return total
}
