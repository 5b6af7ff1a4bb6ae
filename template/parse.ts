/**
 * A parser for Go's text/template language, the notation of Prometheus alert labels and
 * annotations: text, `{{ pipeline }}` actions with `{{-`/`-}}` trimming, comments, variables
 * (`$x := ...`, `$x = ...`), field chains (`.Labels.job`, `$labels.instance`), function calls and
 * pipes, parenthesised pipelines, if/else if/range/with/else/end, define/template/block,
 * break/continue. Parse errors name the byte offset, as Go's errors name the line.
 *
 * Parse-time checks match Go's: an undefined variable and a function that is not in the
 * function table are errors before anything runs.
 */

export type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipe; pos: number }
  | { kind: 'if' | 'with'; pipe: Pipe; list: Node[]; elseList?: Node[]; pos: number }
  | { kind: 'range'; pipe: Pipe; list: Node[]; elseList?: Node[]; pos: number }
  | { kind: 'template'; name: string; pipe?: Pipe; pos: number }
  | { kind: 'break' | 'continue'; pos: number }

export interface Pipe {
  decl: string[]
  /** `=` (assign to an existing variable) rather than `:=`. */
  assign: boolean
  cmds: Command[]
  pos: number
}

export interface Command {
  args: Arg[]
  pos: number
}

export type Arg =
  | { kind: 'dot' }
  | { kind: 'field'; chain: string[] }
  | { kind: 'variable'; name: string; chain: string[] }
  | { kind: 'identifier'; name: string }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number | bigint }
  | { kind: 'bool'; value: boolean }
  | { kind: 'nil' }
  | { kind: 'pipe'; pipe: Pipe; chain: string[] }

export interface ParsedTemplate {
  root: Node[]
  defines: Map<string, Node[]>
}

export class TemplateParseError extends Error {
  override readonly name = 'TemplateParseError'
  constructor(
    message: string,
    /** Byte offset in the template text. */
    readonly offset: number,
  ) {
    super(message)
  }
}

type Token =
  | { t: 'ident'; v: string; pos: number }
  | { t: 'field'; v: string; pos: number } // ".Name"
  | { t: 'var'; v: string; pos: number } // "$name" or "$"
  | { t: 'dot'; pos: number }
  | { t: 'string'; v: string; pos: number }
  | { t: 'number'; v: number | bigint; pos: number }
  | { t: 'char'; v: bigint; pos: number }
  | { t: 'punct'; v: '(' | ')' | '|' | ':=' | '=' | ','; pos: number }

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue', 'true', 'false', 'nil'])

/** Splits one action's body into tokens. */
function tokenize(body: string, base: number): Token[] {
  const out: Token[] = []
  let i = 0
  const err = (msg: string): never => {
    throw new TemplateParseError(msg, base + i)
  }
  while (i < body.length) {
    const c = body[i]!
    const pos = base + i
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++
    } else if (c === '(' || c === ')' || c === '|' || c === ',') {
      out.push({ t: 'punct', v: c, pos })
      i++
    } else if (c === ':' && body[i + 1] === '=') {
      out.push({ t: 'punct', v: ':=', pos })
      i += 2
    } else if (c === '=') {
      out.push({ t: 'punct', v: '=', pos })
      i++
    } else if (c === '"') {
      let j = i + 1
      let s = ''
      while (true) {
        if (j >= body.length || body[j] === '\n') err('unterminated quoted string')
        const d = body[j]!
        if (d === '"') break
        if (d === '\\') {
          const e = body[j + 1]
          const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' }
          if (e === 'x' || e === 'u' || e === 'U') {
            const len = e === 'x' ? 2 : e === 'u' ? 4 : 8
            const hex = body.slice(j + 2, j + 2 + len)
            if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) err('invalid escape in quoted string')
            s += String.fromCodePoint(parseInt(hex, 16))
            j += 2 + len
            continue
          }
          if (e === undefined || simple[e] === undefined) err('invalid syntax in quoted string')
          s += simple[e!]
          j += 2
          continue
        }
        s += d
        j++
      }
      out.push({ t: 'string', v: s, pos })
      i = j + 1
    } else if (c === '`') {
      const j = body.indexOf('`', i + 1)
      if (j < 0) err('unterminated raw quoted string')
      out.push({ t: 'string', v: body.slice(i + 1, j), pos })
      i = j + 1
    } else if (c === "'") {
      const m = /^'(\\.|[^\\'])'/u.exec(body.slice(i))
      if (m === null) err('unterminated character constant')
      const ch = m![1]!.startsWith('\\') ? ({ n: '\n', t: '\t', '\\': '\\', "'": "'" } as Record<string, string>)[m![1]![1]!] ?? m![1]![1]! : m![1]!
      out.push({ t: 'char', v: BigInt(ch.codePointAt(0)!), pos })
      i += m![0].length
    } else if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(body.slice(i))!
      out.push({ t: 'var', v: m[0], pos })
      i += m[0].length
      i = fieldChainInto(body, i, base, out)
    } else if (c === '.') {
      const m = /^\.[A-Za-z_][A-Za-z0-9_]*/.exec(body.slice(i))
      if (m === null) {
        if (/[0-9]/.test(body[i + 1] ?? '')) {
          i = numberInto(body, i, base, out)
        } else {
          out.push({ t: 'dot', pos })
          i++
        }
      } else {
        i = fieldChainInto(body, i, base, out)
      }
    } else if (/[0-9+-]/.test(c)) {
      i = numberInto(body, i, base, out)
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(body.slice(i))!
      out.push({ t: 'ident', v: m[0], pos })
      i += m[0].length
      if (body[i] === '.' && /[A-Za-z_]/.test(body[i + 1] ?? '')) err(`unexpected . after term "${m[0]}"`)
    } else {
      err(`unexpected "${c}" in command`)
    }
  }
  return out
}

function fieldChainInto(body: string, start: number, base: number, out: Token[]): number {
  let i = start
  while (body[i] === '.') {
    const m = /^\.[A-Za-z_][A-Za-z0-9_]*/.exec(body.slice(i))
    if (m === null) break
    out.push({ t: 'field', v: m[0].slice(1), pos: base + i })
    i += m[0].length
  }
  return i
}

function numberInto(body: string, start: number, base: number, out: Token[]): number {
  const m = /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/.exec(body.slice(start))
  const text = m?.[0] ?? ''
  if (text === '' || text === '+' || text === '-' || !/\d/.test(text)) throw new TemplateParseError(`bad number syntax: "${body.slice(start, start + 10)}"`, base + start)
  const clean = text.replace(/_/g, '')
  let v: number | bigint
  if (/^[+-]?0[xXbBoO]/.test(clean) || /^[+-]?\d+$/.test(clean)) {
    const neg = clean.startsWith('-')
    const digits = clean.replace(/^[+-]/, '')
    v = BigInt(/^0\d/.test(digits) ? '0o' + digits.slice(1) : digits) * (neg ? -1n : 1n)
  } else {
    v = Number(clean)
    if (Number.isNaN(v)) throw new TemplateParseError(`bad number syntax: "${text}"`, base + start)
  }
  const next = body[start + text.length]
  if (next !== undefined && /[A-Za-z_.]/.test(next)) throw new TemplateParseError(`bad number syntax: "${body.slice(start, start + text.length + 1)}"`, base + start)
  out.push({ t: 'number', v, pos: base + start })
  return start + text.length
}

interface RawAction {
  body: string
  /** Offset of the body's first character in the template. */
  pos: number
}

/** Splits text and actions, applying the trim markers. */
function split(src: string): (string | RawAction)[] {
  const parts: (string | RawAction)[] = []
  let i = 0
  let trimNextText = false
  while (i <= src.length) {
    const open = src.indexOf('{{', i)
    let text = open < 0 ? src.slice(i) : src.slice(i, open)
    if (trimNextText) text = text.replace(/^[ \t\r\n]+/, '')
    trimNextText = false
    if (open < 0) {
      if (text !== '') parts.push(text)
      break
    }
    let bodyStart = open + 2
    if (src[bodyStart] === '-' && /[ \t\r\n]/.test(src[bodyStart + 1] ?? '')) {
      text = text.replace(/[ \t\r\n]+$/, '')
      bodyStart += 2
    }
    if (text !== '') parts.push(text)
    // A comment may hold "}}"; it ends at "*/}}" (or "*/ -}}").
    const afterSpace = src.slice(bodyStart).match(/^[ \t\r\n]*/)![0].length
    let close: number
    let body: string
    if (src.startsWith('/*', bodyStart + afterSpace)) {
      const end = src.indexOf('*/', bodyStart + afterSpace + 2)
      if (end < 0) throw new TemplateParseError('unclosed comment', open)
      const m = /^([ \t\r\n]-)?}}/.exec(src.slice(end + 2))
      if (m === null) throw new TemplateParseError('comment ends before closing delimiter', end)
      close = end + 2 + m[0].length - 2
      if (m[1] !== undefined) trimNextText = true
      i = close + 2
      continue
    }
    close = findClose(src, bodyStart, open)
    body = src.slice(bodyStart, close)
    const trimRight = /[ \t\r\n]-$/.test(body)
    if (trimRight) {
      body = body.slice(0, -2)
      trimNextText = true
    }
    parts.push({ body, pos: bodyStart })
    i = close + 2
  }
  return parts
}

/** The "}}" that closes the action opened at `open`, skipping quoted strings. */
function findClose(src: string, from: number, open: number): number {
  let i = from
  while (i < src.length) {
    const c = src[i]
    if (c === '"' || c === "'") {
      i++
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\n') throw new TemplateParseError('unterminated quoted string', i)
        i += src[i] === '\\' ? 2 : 1
      }
      if (i >= src.length) throw new TemplateParseError('unterminated quoted string', from)
      i++
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1)
      if (j < 0) throw new TemplateParseError('unterminated raw quoted string', i)
      i = j + 1
    } else if (c === '}' && src[i + 1] === '}') {
      return i
    } else {
      i++
    }
  }
  throw new TemplateParseError('unclosed action', open)
}

export interface ParseOptions {
  /** Function names the template may call (Go checks them at parse time). */
  functions: ReadonlySet<string>
  /** Variables defined before the text (Prometheus defines $labels, $value, ...). */
  predeclared?: readonly string[]
}

type ListEnd = { list: Node[]; stop: 'end' | 'else' | 'eof'; stopPart?: { toks: Token[]; pos: number } }

/** Parses one template text; throws TemplateParseError. */
export function parseTemplate(src: string, options: ParseOptions): ParsedTemplate {
  return new TemplateParser(src, options).parse()
}

/**
 * Recursive descent over the split text and actions, one method per construct. `index` walks
 * the parts; `scopes` holds the declared variables, as Go's parser does for its checks.
 */
export class TemplateParser {
  private readonly parts: (string | RawAction)[]
  private readonly defines = new Map<string, Node[]>()
  private index = 0
  // Variable scopes: Go resets them per template definition and pops them at {{end}}.
  private scopes: string[][]

  constructor(
    private readonly src: string,
    private readonly options: ParseOptions,
  ) {
    this.parts = split(src)
    this.scopes = [['$', ...(options.predeclared ?? [])]]
  }

  parse(): ParsedTemplate {
    const top = this.parseList(false)
    if (top.stop === 'end') throw new TemplateParseError('unexpected {{end}}', this.src.length)
    if (top.stop === 'else') throw new TemplateParseError('unexpected {{else}}', top.stopPart!.pos)
    return { root: top.list, defines: this.defines }
  }

  private lookupVar(name: string, pos: number): void {
    if (!this.scopes.some((s) => s.includes(name))) throw new TemplateParseError(`undefined variable "${name}"`, pos)
  }

  private parseList(inRange: boolean): ListEnd {
    const list: Node[] = []
    while (this.index < this.parts.length) {
      const part = this.parts[this.index++]!
      if (typeof part === 'string') {
        list.push({ kind: 'text', text: part })
        continue
      }
      const toks = tokenize(part.body, part.pos)
      const head = toks[0]
      if (head === undefined) throw new TemplateParseError('missing value for command', part.pos)
      if (head.t === 'ident' && KEYWORDS.has(head.v) && !['true', 'false', 'nil'].includes(head.v)) {
        const rest = toks.slice(1)
        switch (head.v) {
          case 'end':
            if (rest.length > 0) throw new TemplateParseError('unexpected token in end', rest[0]!.pos)
            return { list, stop: 'end' }
          case 'else':
            return { list, stop: 'else', stopPart: { toks: rest, pos: head.pos } }
          case 'if':
          case 'with':
          case 'range':
            list.push(this.parseControl(head.v, rest, head.pos, inRange))
            continue
          case 'break':
          case 'continue':
            if (!inRange) throw new TemplateParseError(`{{${head.v}}} outside {{range}}`, head.pos)
            list.push({ kind: head.v, pos: head.pos })
            continue
          case 'template':
          case 'block': {
            const nameTok = rest[0]
            if (nameTok === undefined || nameTok.t !== 'string') throw new TemplateParseError(`unexpected token in ${head.v} clause`, head.pos)
            const pipe = rest.length > 1 ? this.parsePipe(rest.slice(1), nameTok.pos) : undefined
            list.push({ kind: 'template', name: nameTok.v, pipe, pos: head.pos })
            if (head.v === 'block') this.parseDefinition(nameTok.v)
            continue
          }
          case 'define': {
            const nameTok = rest[0]
            if (nameTok === undefined || nameTok.t !== 'string' || rest.length !== 1) throw new TemplateParseError('unexpected token in define clause', head.pos)
            this.parseDefinition(nameTok.v)
            continue
          }
        }
      }
      list.push({ kind: 'action', pipe: this.parsePipe(toks, part.pos), pos: part.pos })
    }
    return { list, stop: 'eof' }
  }

/** The body of `{{define "name"}}` or `{{block "name" ...}}` up to its {{end}}, in a fresh variable scope. */
  private parseDefinition(name: string): void {
    const saved = this.scopes
    this.scopes = [['$']]
    const body = this.parseList(false)
    this.scopes = saved
    if (body.stop !== 'end') throw new TemplateParseError('unexpected EOF', this.src.length)
    this.defines.set(name, body.list)
  }

    private parseControl(kind: 'if' | 'with' | 'range', toks: Token[], pos: number, inRange: boolean): Node {
    this.scopes.push([])
    const pipe = this.parsePipe(toks, pos, kind === 'range')
    const body = this.parseList(kind === 'range' || inRange)
    let elseList: Node[] | undefined
    if (body.stop === 'eof') throw new TemplateParseError(`unexpected EOF`, this.src.length)
    if (body.stop === 'else') {
      const elseToks = body.stopPart!.toks
      this.scopes.pop()
      this.scopes.push([])
      if (elseToks.length > 0 && elseToks[0]!.t === 'ident' && (elseToks[0] as { v: string }).v === kind && kind !== 'range') {
        // {{else if ...}} / {{else with ...}}: a nested control that consumes the one {{end}}.
        elseList = [this.parseControl(kind, elseToks.slice(1), elseToks[0]!.pos, inRange)]
        this.scopes.pop()
        return { kind, pipe, list: body.list, elseList, pos } as Node
      }
      if (elseToks.length > 0) throw new TemplateParseError('unexpected token in else', elseToks[0]!.pos)
      const rest = this.parseList(inRange)
      if (rest.stop !== 'end') throw new TemplateParseError(rest.stop === 'eof' ? 'unexpected EOF' : 'expected end; found else', this.src.length)
      elseList = rest.list
    }
    this.scopes.pop()
    return { kind, pipe, list: body.list, elseList, pos } as Node
  }

  private parsePipe(toks: Token[], pos: number, rangeDecl = false): Pipe {
    let k = 0
    const decl: string[] = []
    let assign = false
    // `$x :=`, `$x =`, or (range) `$i, $e :=`
    const declEnd = toks.findIndex((t) => t.t === 'punct' && (t.v === ':=' || t.v === '='))
    if (declEnd > 0 && toks.slice(0, declEnd).every((t) => t.t === 'var' || (t.t === 'punct' && t.v === ','))) {
      const vars = toks.slice(0, declEnd).filter((t) => t.t === 'var') as { v: string; pos: number }[]
      if (vars.length > (rangeDecl ? 2 : 1)) throw new TemplateParseError('too many declarations', pos)
      assign = (toks[declEnd] as { v: string }).v === '='
      for (const v of vars) {
        if (assign) this.lookupVar(v.v, v.pos)
        decl.push(v.v)
      }
      k = declEnd + 1
    }
    const cmds: Command[] = []
    let cur: Arg[] = []
    let curPos = toks[k]?.pos ?? pos
    const endCommand = (at: number) => {
      if (cur.length === 0) throw new TemplateParseError('missing value for command', at)
      cmds.push({ args: cur, pos: curPos })
      cur = []
    }
    while (k < toks.length) {
      const t = toks[k]!
      if (t.t === 'punct' && t.v === '|') {
        endCommand(t.pos)
        k++
        curPos = toks[k]?.pos ?? t.pos
        continue
      }
      const [arg, next] = this.parseArg(toks, k)
      cur.push(arg)
      k = next
    }
    endCommand(pos)
    // A declared variable is visible after the pipeline (Go adds it to the scope then).
    if (!assign) for (const d of decl) this.scopes[this.scopes.length - 1]!.push(d)
    for (let c = 1; c < cmds.length; c++) {
      const first = cmds[c]!.args[0]!
      if (first.kind !== 'identifier' && first.kind !== 'field' && first.kind !== 'variable' && first.kind !== 'pipe') {
        throw new TemplateParseError('non executable command in pipeline stage', cmds[c]!.pos)
      }
    }
    return { decl, assign, cmds, pos }
  }

  private parseArg(toks: Token[], k: number): [Arg, number] {
    const t = toks[k]!
    switch (t.t) {
      case 'dot':
        return [{ kind: 'dot' }, k + 1]
      case 'field': {
        const chain: string[] = []
        let j = k
        while (j < toks.length && toks[j]!.t === 'field' && (j === k || toks[j]!.pos === toks[j - 1]!.pos + (toks[j - 1] as { v: string }).v.length + 1)) {
          chain.push((toks[j] as { v: string }).v)
          j++
        }
        return [{ kind: 'field', chain }, j]
      }
      case 'var': {
        this.lookupVar(t.v, t.pos)
        const chain: string[] = []
        let j = k + 1
        let end = t.pos + t.v.length
        while (j < toks.length && toks[j]!.t === 'field' && toks[j]!.pos === end) {
          const v = (toks[j] as { v: string }).v
          chain.push(v)
          end += v.length + 1
          j++
        }
        return [{ kind: 'variable', name: t.v, chain }, j]
      }
      case 'string':
        return [{ kind: 'string', value: t.v }, k + 1]
      case 'number':
        return [{ kind: 'number', value: t.v }, k + 1]
      case 'char':
        return [{ kind: 'number', value: t.v }, k + 1]
      case 'ident':
        if (t.v === 'true' || t.v === 'false') return [{ kind: 'bool', value: t.v === 'true' }, k + 1]
        if (t.v === 'nil') return [{ kind: 'nil' }, k + 1]
        if (KEYWORDS.has(t.v)) throw new TemplateParseError(`unexpected <${t.v}> in command`, t.pos)
        if (!this.options.functions.has(t.v)) throw new TemplateParseError(`function "${t.v}" not defined`, t.pos)
        return [{ kind: 'identifier', name: t.v }, k + 1]
      case 'punct': {
        if (t.v !== '(') throw new TemplateParseError(`unexpected "${t.v}" in operand`, t.pos)
        let depth = 0
        let j = k
        for (; j < toks.length; j++) {
          const u = toks[j]!
          if (u.t === 'punct' && u.v === '(') depth++
          if (u.t === 'punct' && u.v === ')' && --depth === 0) break
        }
        if (j >= toks.length) throw new TemplateParseError('unclosed left paren', t.pos)
        if (j === k + 1) throw new TemplateParseError('missing value for parenthesized pipeline', t.pos)
        const pipe = this.parsePipe(toks.slice(k + 1, j), t.pos)
        const chain: string[] = []
        let n = j + 1
        while (n < toks.length && toks[n]!.t === 'field' && toks[n]!.pos === toks[n - 1]!.pos + (n === j + 1 ? 1 : (toks[n - 1] as { v: string }).v.length + 1)) {
          chain.push((toks[n] as { v: string }).v)
          n++
        }
        return [{ kind: 'pipe', pipe, chain }, n]
      }
    }
  }
}
