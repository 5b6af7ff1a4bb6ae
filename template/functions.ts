/**
 * The functions an alert template may call: Go's text/template builtins and the ones
 * Prometheus adds (humanize*, query, label, value, match, reReplaceAll, ...), with Prometheus's
 * output formats. `query` is injected: the ruler runs PromQL, the linter returns no samples.
 */
import { RE2JS } from 're2js'
import { parseDuration } from '../promql/lexer.js'
import { formatFloatE, formatFloatF, formatFloatG, quoteGo } from './go-format.js'
import { GoMap, GoStruct, GoTime, TemplateExecError, printValue, truth, typeName, type GoFunction, type GoValue } from './exec.js'

/** One element of a `query` result, as Prometheus's templates see it: {Labels, Value}. */
export function querySample(labels: Record<string, string>, value: number): GoStruct {
  return new GoStruct('*template.sample', { Labels: new GoMap(labels), Value: value })
}

export interface TemplateEnvironment {
  /** Runs an instant PromQL query at the rule's evaluation time; the linter returns []. */
  query(expr: string): GoStruct[]
  externalURL: string
}

const fail = (msg: string): never => {
  throw new TemplateExecError(msg)
}

function want(name: string, args: GoValue[], n: number): void {
  if (args.length !== n) fail(`wrong number of args for ${name}: want ${n} got ${args.length}`)
}

function str(v: GoValue): string {
  if (typeof v !== 'string') fail(`wrong type for value; expected string; got ${typeName(v)}`)
  return v as string
}

/** Prometheus's convertToFloat: numbers, numeric strings, durations in seconds. */
function toFloat(v: GoValue): number {
  if (typeof v === 'number') return v
  if (typeof v === 'bigint') return Number(v)
  if (typeof v === 'string') {
    const t = v.trim()
    const n = /^[+-]?(inf|infinity)$/i.test(t) ? (t.startsWith('-') ? -Infinity : Infinity) : /^nan$/i.test(t) ? NaN : t === '' ? NaN : Number(t)
    if (Number.isNaN(n) && !/^nan$/i.test(t)) fail(`strconv.ParseFloat: parsing ${quoteGo(v)}: invalid syntax`)
    return n
  }
  return fail(`can't convert ${typeName(v)} to float`)
}

const g4 = (v: number) => formatFloatG(v, 4)

export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return g4(v)
  if (Math.abs(v) >= 1) {
    let prefix = ''
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(v) < 1000) break
      prefix = p
      v /= 1000
    }
    return g4(v) + prefix
  }
  let prefix = ''
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break
    prefix = p
    v *= 1000
  }
  return g4(v) + prefix
}

export function humanize1024(v: number): string {
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return g4(v)
  let prefix = ''
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break
    prefix = p
    v /= 1024
  }
  return g4(v) + prefix
}

export function humanizeDuration(v: number): string {
  if (!Number.isFinite(v)) return g4(v)
  if (v === 0) return g4(v) + 's'
  if (Math.abs(v) >= 1) {
    const sign = v < 0 ? '-' : ''
    v = Math.abs(v)
    const total = Math.trunc(v)
    const seconds = total % 60
    const minutes = Math.trunc(total / 60) % 60
    const hours = Math.trunc(total / 3600) % 24
    const days = Math.trunc(total / 86400)
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`
    return `${sign}${g4(v)}s`
  }
  let prefix = ''
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break
    prefix = p
    v *= 1000
  }
  return `${g4(v)}${prefix}s`
}

/** Go's fmt.Sprintf for the verbs templates use; a mismatched verb prints %!v(type=value) as Go does. */
export function sprintf(format: string, args: GoValue[]): string {
  let out = ''
  let argi = 0
  const re = /%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])/g
  let last = 0
  for (let m = re.exec(format); m !== null; m = re.exec(format)) {
    out += format.slice(last, m.index)
    last = re.lastIndex
    const [, flags = '', widthS, precS, verb] = m as unknown as [string, string, string | undefined, string | undefined, string]
    if (verb === '%') {
      out += '%'
      continue
    }
    const width = widthS === undefined ? undefined : widthS === '*' ? Number(args[argi++]) : Number(widthS)
    const prec = precS === undefined ? (m[0].includes('.') ? 0 : undefined) : precS === '*' ? Number(args[argi++]) : Number(precS)
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`
      continue
    }
    const a = args[argi++]!
    let s: string
    const bad = () => `%!${verb}(${typeName(a)}=${printValue(a)})`
    switch (verb) {
      case 'v':
        s = printValue(a)
        break
      case 's':
        s = typeof a === 'string' || a instanceof GoMap || Array.isArray(a) ? printValue(a) : bad()
        if (prec !== undefined && typeof a === 'string') s = s.slice(0, prec)
        break
      case 'q':
        s = typeof a === 'string' ? quoteGo(a) : bad()
        break
      case 'd':
        s = typeof a === 'bigint' ? a.toString() : bad()
        break
      case 't':
        s = typeof a === 'boolean' ? String(a) : bad()
        break
      case 'x':
      case 'X':
        s = typeof a === 'bigint' ? a.toString(16) : typeof a === 'string' ? Buffer.from(a).toString('hex') : bad()
        if (verb === 'X') s = s.toUpperCase()
        break
      case 'f':
      case 'F':
      case 'e':
      case 'g':
        if (typeof a !== 'number') {
          s = bad()
          break
        }
        s = verb === 'g' ? formatFloatG(a, prec ?? -1) : verb === 'e' ? formatFloatE(a, prec ?? 6) : formatFloatF(a, prec ?? 6)
        if (flags.includes('+') && a >= 0) s = '+' + s
        break
      default:
        s = `%!${verb}(${typeName(a)}=${printValue(a)})`
    }
    if (width !== undefined && s.length < width) s = flags.includes('-') ? s.padEnd(width) : s.padStart(width, flags.includes('0') && verb !== 's' ? '0' : ' ')
    out += s
  }
  out += format.slice(last)
  if (argi < args.length) out += `%!(EXTRA ${args.slice(argi).map((a) => `${typeName(a)}=${printValue(a)}`).join(', ')})`
  return out
}

type Kind = 'int' | 'float' | 'string' | 'bool' | 'other'
const kindOf = (v: GoValue): Kind => (typeof v === 'bigint' ? 'int' : typeof v === 'number' ? 'float' : typeof v === 'string' ? 'string' : typeof v === 'boolean' ? 'bool' : 'other')

function compare(name: string, a: GoValue, b: GoValue, ordered: boolean): number {
  const ka = kindOf(a)
  const kb = kindOf(b)
  if (ka === 'other' || kb === 'other') {
    if (!ordered && a === null && b === null) return 0
    return fail(ordered || a === null || b === null ? 'invalid type for comparison' : 'incompatible types for comparison')
  }
  if (ka !== kb) return fail('incompatible types for comparison')
  if (ordered && ka === 'bool') return fail('invalid type for comparison')
  void name
  if (ka === 'float' && (Number.isNaN(a) || Number.isNaN(b))) return NaN
  return a! < b! ? -1 : a! > b! ? 1 : a === b ? 0 : NaN
}

function regex(pattern: string): RE2JS {
  try {
    return RE2JS.compile(pattern)
  } catch (err) {
    return fail(`error parsing regexp: ${(err as Error).message}`)
  }
}

/** Go's Regexp.ReplaceAllString: $1 / ${name} expansion. */
function replaceAll(re: RE2JS, repl: string, text: string): string {
  // re2js's replaceAll uses $1 (and ${name}) as Go does.
  return re.matcher(text).replaceAll(repl)
}

export function templateFunctions(env: TemplateEnvironment): Map<string, GoFunction> {
  const f = new Map<string, GoFunction>()
  const one = (name: string, fn: (a: GoValue) => GoValue) =>
    f.set(name, (args) => {
      want(name, args, 1)
      return fn(args[0]!)
    })
  // Go builtins (and/or are short-circuited by the executor; these serve the table lookup).
  f.set('and', (args) => args.find((a) => !truth(a)) ?? args[args.length - 1] ?? null)
  f.set('or', (args) => args.find((a) => truth(a)) ?? args[args.length - 1] ?? null)
  one('not', (a) => !truth(a))
  one('len', (a) => {
    if (typeof a === 'string') return BigInt(Buffer.byteLength(a))
    if (a instanceof GoMap) return BigInt(Object.keys(a.entries).length)
    if (Array.isArray(a)) return BigInt(a.length)
    return fail(`len of type ${typeName(a)}`)
  })
  f.set('index', (args) => {
    let v = args[0] ?? null
    for (const k of args.slice(1)) {
      if (v instanceof GoMap) v = v.entries[str(k)] ?? ''
      else if (Array.isArray(v)) {
        const i = typeof k === 'bigint' ? Number(k) : fail('cannot index slice/array with non-integer')
        if (i < 0 || i >= v.length) fail(`error calling index: index out of range: ${i}`)
        v = (v as GoValue[])[i]!
      } else fail(`can't index item of type ${typeName(v)}`)
    }
    return v
  })
  f.set('print', (args) => args.map((a, i) => (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string' ? ' ' : '') + printValue(a)).join(''))
  f.set('println', (args) => args.map(printValue).join(' ') + '\n')
  f.set('printf', (args) => sprintf(str(args[0] ?? null), args.slice(1)))
  f.set('eq', (args) => {
    if (args.length < 2) fail('missing argument for comparison')
    return args.slice(1).some((b) => compare('eq', args[0]!, b, false) === 0)
  })
  const bin = (name: string, test: (c: number) => boolean) =>
    f.set(name, (args) => {
      want(name, args, 2)
      return test(compare(name, args[0]!, args[1]!, name !== 'ne'))
    })
  bin('ne', (c) => c !== 0)
  bin('lt', (c) => c < 0)
  bin('le', (c) => c <= 0)
  bin('gt', (c) => c > 0)
  bin('ge', (c) => c >= 0)
  f.set('html', (args) => args.map(printValue).join('').replace(/[<>&'"\0]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&#34;', '\0': '\uFFFD' })[c]!))
  f.set('js', (args) => args.map(printValue).join('').replace(/[\\'"<>&=\n\r\t]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`))
  f.set('urlquery', (args) => encodeURIComponent(args.map(printValue).join('')).replace(/%20/g, '+'))
  f.set('call', () => fail('call of nil'))
  f.set('slice', () => fail('slice is not supported here'))

  // Prometheus's functions.
  one('query', (q) => env.query(str(q)))
  one('first', (v) => {
    if (!Array.isArray(v)) return fail(`first: expected a query result, got ${typeName(v)}`)
    if (v.length === 0) fail('first() called on vector with no elements')
    return v[0]!
  })
  f.set('label', (args) => {
    want('label', args, 2)
    const s = args[1]
    if (!(s instanceof GoStruct)) return ''
    const labels = s.fields.Labels
    return labels instanceof GoMap ? (labels.entries[str(args[0]!)] ?? '') : ''
  })
  one('value', (s) => (s instanceof GoStruct ? (s.fields.Value ?? null) : fail(`value: expected a sample, got ${typeName(s)}`)))
  one('strvalue', (s) => (s instanceof GoStruct && s.fields.Labels instanceof GoMap ? (s.fields.Labels.entries.__value__ ?? '') : ''))
  f.set('args', (args) => new GoMap(Object.fromEntries(args.map((a, i) => [`arg${i}`, a]))))
  f.set('reReplaceAll', (args) => {
    want('reReplaceAll', args, 3)
    return replaceAll(regex(str(args[0]!)), str(args[1]!), str(args[2]!))
  })
  one('safeHtml', (s) => str(s))
  f.set('match', (args) => {
    want('match', args, 2)
    return regex(str(args[0]!)).matcher(str(args[1]!)).find()
  })
  one('title', (s) => str(s).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_, a: string, b: string) => a + b.toUpperCase()))
  one('toUpper', (s) => str(s).toUpperCase())
  one('toLower', (s) => str(s).toLowerCase())
  one('graphLink', (e) => `/graph?g0.expr=${encodeURIComponent(str(e))}&g0.tab=0`)
  one('tableLink', (e) => `/graph?g0.expr=${encodeURIComponent(str(e))}&g0.tab=1`)
  f.set('sortByLabel', (args) => {
    want('sortByLabel', args, 2)
    const name = str(args[0]!)
    const list = args[1]
    if (!Array.isArray(list)) return fail(`sortByLabel: expected a query result, got ${typeName(list)}`)
    const key = (s: GoValue) => (s instanceof GoStruct && s.fields.Labels instanceof GoMap ? String(s.fields.Labels.entries[name] ?? '') : '')
    return [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
  })
  one('humanize', (v) => humanize(toFloat(v)))
  one('humanize1024', (v) => humanize1024(toFloat(v)))
  one('humanizeDuration', (v) => humanizeDuration(toFloat(v)))
  one('humanizePercentage', (v) => `${g4(toFloat(v) * 100)}%`)
  one('humanizeTimestamp', (v) => {
    const x = toFloat(v)
    if (!Number.isFinite(x)) return g4(x)
    return printValue(new GoTime(Math.round(x * 1000)))
  })
  one('toTime', (v) => {
    const x = toFloat(v)
    if (!Number.isFinite(x)) return fail(`cannot convert ${g4(x)} to Time`)
    return new GoTime(Math.round(x * 1000))
  })
  f.set('pathPrefix', () => {
    try {
      return new URL(env.externalURL).pathname.replace(/\/$/, '')
    } catch {
      return ''
    }
  })
  f.set('externalURL', () => env.externalURL)
  one('parseDuration', (d) => {
    try {
      return parseDuration(str(d)) / 1000
    } catch (err) {
      return fail((err as Error).message)
    }
  })
  one('stripPort', (h) => {
    const s = str(h)
    const m = /^\[(.*)\](?::\d*)?$/.exec(s) ?? /^([^:]*):\d*$/.exec(s)
    return m ? m[1]! : s
  })
  one('stripDomain', (h) => {
    const s = str(h)
    const m = /^([^.:[\]]+)(?:\.[^:]*)?(:\d+)?$/.exec(s)
    return m && !/^\d+$/.test(m[1]!) ? m[1]! + (m[2] ?? '') : s
  })
  return f
}

/** The names the parser accepts: the same table with dummy bodies. */
export const TEMPLATE_FUNCTION_NAMES: ReadonlySet<string> = new Set(templateFunctions({ query: () => [], externalURL: '' }).keys())
