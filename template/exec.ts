/**
 * Executes a parsed Go text/template against Go-like values. Only what alert templates use is
 * modelled: strings, float64 (JS number), int (JS bigint, so that `gt $value 1` fails as it does
 * in Go: float64 and int do not compare), bool, nil, maps (label sets), slices (query results)
 * and structs. An execution error is a TemplateExecError, as Go's `executing ... at <...>`.
 */
import { formatFloatG } from './go-format.js'
import type { Arg, Node, ParsedTemplate, Pipe } from './parse.js'

export class GoMap {
  constructor(readonly entries: Readonly<Record<string, GoValue>>) {}
}
export class GoStruct {
  constructor(
    readonly typeName: string,
    readonly fields: Readonly<Record<string, GoValue>>,
  ) {}
}
export class GoTime {
  constructor(readonly ms: number) {}
}
export type GoValue = string | number | bigint | boolean | null | GoMap | GoStruct | GoTime | readonly GoValue[]

export class TemplateExecError extends Error {
  override readonly name = 'TemplateExecError'
}

export type GoFunction = (args: GoValue[]) => GoValue
export type FunctionTable = ReadonlyMap<string, GoFunction>

export function typeName(v: GoValue): string {
  if (v === null) return 'nil'
  if (typeof v === 'string') return 'string'
  if (typeof v === 'number') return 'float64'
  if (typeof v === 'bigint') return 'int'
  if (typeof v === 'boolean') return 'bool'
  if (v instanceof GoMap) return 'map[string]string'
  if (v instanceof GoStruct) return v.typeName
  if (v instanceof GoTime) return 'time.Time'
  return '[]interface {}'
}

export function truth(v: GoValue): boolean {
  if (v === null) return false
  if (typeof v === 'string') return v !== ''
  if (typeof v === 'number') return v !== 0
  if (typeof v === 'bigint') return v !== 0n
  if (typeof v === 'boolean') return v
  if (v instanceof GoMap) return Object.keys(v.entries).length > 0
  if (Array.isArray(v)) return v.length > 0
  return true
}

/** fmt's %v. */
export function printValue(v: GoValue): string {
  if (v === null) return '<nil>'
  if (typeof v === 'string') return v
  if (typeof v === 'number') return formatFloatG(v, -1)
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v)
  if (v instanceof GoMap)
    return `map[${Object.keys(v.entries)
      .sort()
      .map((k) => `${k}:${printValue(v.entries[k]!)}`)
      .join(' ')}]`
  if (v instanceof GoStruct) return `{${Object.values(v.fields).map(printValue).join(' ')}}`
  if (v instanceof GoTime) return formatGoTime(v.ms)
  return `[${(v as readonly GoValue[]).map(printValue).join(' ')}]`
}

/** time.Time's String() in UTC: "2006-01-02 15:04:05.999999999 +0000 UTC". */
export function formatGoTime(ms: number): string {
  const d = new Date(ms)
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  let frac = ''
  const millis = ((ms % 1000) + 1000) % 1000
  if (millis !== 0) frac = '.' + pad(millis, 3).replace(/0+$/, '')
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${frac} +0000 UTC`
}

class Control {
  constructor(readonly what: 'break' | 'continue') {}
}

const MAX_DEPTH = 100_000

/** Runs a parsed template with `dot` and the predeclared variables; throws TemplateExecError. */
export function executeTemplate(tpl: ParsedTemplate, dot: GoValue, functions: FunctionTable, predeclared: Record<string, GoValue> = {}): string {
  return new TemplateExecutor(tpl, functions).execute(dot, predeclared)
}

/** Variable scopes, innermost last: Go pushes one per control structure. */
type Scopes = Map<string, GoValue>[]

/** A tree walker, one method per node and argument kind, writing into `out` with a step budget. */
export class TemplateExecutor {
  private out = ''
  private steps = 0

  constructor(
    private readonly tpl: ParsedTemplate,
    private readonly functions: FunctionTable,
  ) {}

  execute(dot: GoValue, predeclared: Record<string, GoValue> = {}): string {
    this.out = ''
    this.steps = 0
    const scope = new Map<string, GoValue>([['$', dot]])
    for (const [k, v] of Object.entries(predeclared)) scope.set(k, v)
    try {
      this.run(this.tpl.root, dot, [scope])
    } catch (err) {
      if (!(err instanceof Control)) throw err
    }
    return this.out
  }

  private fail(msg: string): never {
    throw new TemplateExecError(msg)
  }

  private field(v: GoValue, name: string): GoValue {
    if (v instanceof GoMap) return v.entries[name] ?? '' // missingkey=zero on map[string]string
    if (v instanceof GoStruct) {
      if (name in v.fields) return v.fields[name]!
      return this.fail(`can't evaluate field ${name} in type ${v.typeName}`)
    }
    if (v === null) return this.fail(`nil pointer evaluating interface {}.${name}`)
    return this.fail(`can't evaluate field ${name} in type ${typeName(v)}`)
  }
  private chainOf(v: GoValue, chain: readonly string[]): GoValue {
    return chain.reduce((acc, name) => this.field(acc, name), v)
  }

  private run(list: readonly Node[], dotV: GoValue, vars: Scopes): void {
    for (const node of list) {
      if (++this.steps > MAX_DEPTH) this.fail('template too expensive: over 100000 steps')
      switch (node.kind) {
        case 'text':
          this.out += node.text
          break
        case 'action': {
          const v = this.evalPipe(node.pipe, dotV, vars)
          if (node.pipe.decl.length === 0) this.out += v === null ? '<no value>' : printValue(v)
          break
        }
        case 'if':
        case 'with': {
          vars.push(new Map())
          const v = this.evalPipe(node.pipe, dotV, vars)
          if (truth(v)) this.run(node.list, node.kind === 'with' ? v : dotV, vars)
          else if (node.elseList) this.run(node.elseList, dotV, vars)
          vars.pop()
          break
        }
        case 'range': {
          vars.push(new Map())
          const v = this.evalPipe({ ...node.pipe, decl: [] }, dotV, vars)
          const items: [GoValue, GoValue][] = []
          if (v instanceof GoMap) for (const k of Object.keys(v.entries).sort()) items.push([k, v.entries[k]!])
          else if (Array.isArray(v)) (v as GoValue[]).forEach((e, i) => items.push([BigInt(i), e]))
          else if (v !== null) this.fail(`range can't iterate over ${printValue(v)}`)
          const scope = vars[vars.length - 1]!
          let broke = false
          for (const [k, e] of items) {
            if (node.pipe.decl.length === 1) scope.set(node.pipe.decl[0]!, e)
            if (node.pipe.decl.length === 2) {
              scope.set(node.pipe.decl[0]!, k)
              scope.set(node.pipe.decl[1]!, e)
            }
            try {
              this.run(node.list, e, vars)
            } catch (c) {
              if (!(c instanceof Control)) throw c
              if (c.what === 'break') {
                broke = true
                break
              }
            }
          }
          if (items.length === 0 && node.elseList) this.run(node.elseList, dotV, vars)
          void broke
          vars.pop()
          break
        }
        case 'break':
        case 'continue':
          throw new Control(node.kind)
        case 'template': {
          const body = this.tpl.defines.get(node.name)
          if (body === undefined) this.fail(`no such template "${node.name}"`)
          const arg = node.pipe ? this.evalPipe(node.pipe, dotV, vars) : null
          this.run(body!, arg, [new Map([['$', arg]])])
          break
        }
      }
    }
  }

  private lookup(vars: Scopes, name: string): GoValue {
    for (let i = vars.length - 1; i >= 0; i--) if (vars[i]!.has(name)) return vars[i]!.get(name)!
    return this.fail(`undefined variable: ${name}`)
  }

  private evalPipe(pipe: Pipe, dotV: GoValue, vars: Scopes): GoValue {
    let v: GoValue = null
    let hasPrev = false
    for (const cmd of pipe.cmds) {
      v = this.evalCommand(cmd.args, dotV, vars, hasPrev ? v : undefined)
      hasPrev = true
    }
    for (const d of pipe.decl) {
      if (pipe.assign) {
        for (let i = vars.length - 1; i >= 0; i--)
          if (vars[i]!.has(d)) {
            vars[i]!.set(d, v)
            break
          }
      } else {
        vars[vars.length - 1]!.set(d, v)
      }
    }
    return v
  }

  private evalArg(a: Arg, dotV: GoValue, vars: Scopes): GoValue {
    switch (a.kind) {
      case 'dot':
        return dotV
      case 'field':
        return this.chainOf(dotV, a.chain)
      case 'variable':
        return this.chainOf(this.lookup(vars, a.name), a.chain)
      case 'string':
      case 'number':
      case 'bool':
        return a.value
      case 'nil':
        return null
      case 'pipe':
        return this.chainOf(this.evalPipe(a.pipe, dotV, vars), a.chain)
      case 'identifier':
        return this.callFunction(a.name, [])
    }
  }

  private callFunction(name: string, args: GoValue[]): GoValue {
    const fn = this.functions.get(name)
    if (fn === undefined) return this.fail(`"${name}" is not a defined function`)
    try {
      return fn(args)
    } catch (err) {
      if (err instanceof TemplateExecError) throw new TemplateExecError(`error calling ${name}: ${err.message}`)
      throw err
    }
  }

  private evalCommand(args: readonly Arg[], dotV: GoValue, vars: Scopes, final: GoValue | undefined): GoValue {
    const head = args[0]!
    if (head.kind === 'identifier') {
      // and/or short-circuit (Go 1.18+): evaluate lazily.
      if (head.name === 'and' || head.name === 'or') {
        const rest = args.slice(1)
        if (rest.length === 0 && final === undefined) this.fail(`wrong number of args for ${head.name}: want at least 1 got 0`)
        let v: GoValue = null
        const values = rest.map((r) => () => this.evalArg(r, dotV, vars))
        if (final !== undefined) values.push(() => final)
        for (const get of values) {
          v = get()
          if (head.name === 'and' ? !truth(v) : truth(v)) return v
        }
        return v
      }
      const values = args.slice(1).map((r) => this.evalArg(r, dotV, vars))
      if (final !== undefined) values.push(final)
      return this.callFunction(head.name, values)
    }
    if (args.length > 1 || final !== undefined) {
      if (head.kind === 'field' || head.kind === 'variable' || head.kind === 'pipe' || head.kind === 'dot') {
        // Go: arguments to a non-function are only allowed for methods; our values have none.
        const what = head.kind === 'field' ? '.' + head.chain.join('.') : head.kind === 'variable' ? head.name : 'value'
        return this.fail(`${what} has arguments but cannot be invoked as function`)
      }
      return this.fail(`can't give argument to non-function ${head.kind === 'string' ? JSON.stringify(head.value) : String((head as { value?: unknown }).value)}`)
    }
    return this.evalArg(head, dotV, vars)
  }
}
