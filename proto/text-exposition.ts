/**
 * Decoder of the text formats a push carries: Prometheus text exposition 0.0.4 and
 * OpenMetrics 1.0 text, into the same `DecodedSeries` + `MetricMetadata` the remote-write
 * decoders produce, so everything after it (validation, the Sink) is shared.
 *
 * Hand-written rather than a library: the npm parsers at hand (parse-prometheus-text-format)
 * know neither OpenMetrics (`# UNIT`, `# EOF`, timestamps in seconds, exemplars) nor line
 * numbers for errors, and group histograms into objects whose series names are lost. Pushes
 * are small and rare next to remote write, so this favours clarity over speed.
 *
 * Any malformed line throws an ExpositionError naming it (1-based); the caller stores nothing
 * of such a body. What the formats leave open is decided as Prometheus's own text parser does:
 * unknown comments are ignored; a sample without a timestamp takes `defaultTimestampMs`.
 */
import { BadRequestError } from '../errors/http-errors.js'
import type { DecodedSeries, Label, MetricMetadata, MetricType } from './types.js'

export type TextFormat = 'prometheus' | 'openmetrics'

export class ExpositionError extends BadRequestError {
  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`line ${line}: ${detail}`)
  }
}

export interface ExpositionOptions {
  format: TextFormat
  /** The time of samples that carry none (ms). */
  defaultTimestampMs: number
}

export interface DecodedExposition {
  series: DecodedSeries[]
  metadata: MetricMetadata[]
}

// Prometheus's normal NaN (value.NormalNaN): what its own parser stores for "NaN".
const NORMAL_NAN_BITS = 0x7ff8000000000001n
const NAME_START = /[a-zA-Z_:]/
const NAME_CHAR = /[a-zA-Z0-9_:]/
const FLOAT_RE = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/
const INT_RE = /^-?[0-9]{1,19}$/

const TYPES: Record<TextFormat, Record<string, MetricType>> = {
  prometheus: { counter: 'counter', gauge: 'gauge', histogram: 'histogram', summary: 'summary', untyped: 'unknown' },
  openmetrics: {
    counter: 'counter',
    gauge: 'gauge',
    histogram: 'histogram',
    gaugehistogram: 'gaugehistogram',
    summary: 'summary',
    info: 'info',
    stateset: 'stateset',
    unknown: 'unknown',
  },
}

function cut(text: string, max = 40): string {
  return text.length <= max ? text : text.slice(0, max) + '...'
}

/** Go's ParseFloat spellings the formats allow: decimal, exponent, NaN, +Inf/-Inf/Inf. */
export function parseFloatValue(text: string): number | undefined {
  switch (text.toLowerCase()) {
    case 'nan':
      return NaN
    case '+inf':
    case 'inf':
      return Infinity
    case '-inf':
      return -Infinity
  }
  return FLOAT_RE.test(text) ? Number(text) : undefined
}

/** Reads one line left to right; every failure names what was expected where. */
class LineScanner {
  pos = 0
  constructor(
    readonly text: string,
    readonly lineNo: number,
  ) {}

  fail(detail: string): never {
    throw new ExpositionError(this.lineNo, detail)
  }

  get done(): boolean {
    return this.pos >= this.text.length
  }

  peek(): string {
    return this.text[this.pos] ?? ''
  }

  skipBlanks(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++
  }

  name(what: string): string {
    const start = this.pos
    if (!NAME_START.test(this.peek())) this.fail(`expected a ${what} at column ${this.pos + 1}, found ${this.done ? 'the end of the line' : JSON.stringify(this.peek())}`)
    this.pos++
    while (NAME_CHAR.test(this.peek())) this.pos++
    return this.text.slice(start, this.pos)
  }

  expect(char: string, context: string): void {
    if (this.peek() !== char) this.fail(`expected ${JSON.stringify(char)} ${context} at column ${this.pos + 1}, found ${this.done ? 'the end of the line' : JSON.stringify(this.peek())}`)
    this.pos++
  }

  /** A double-quoted label value with the escapes \\, \" and \n. */
  quoted(labelName: string): string {
    this.expect('"', `to open the value of label "${cut(labelName)}"`)
    let out = ''
    for (;;) {
      if (this.done) this.fail(`the value of label "${cut(labelName)}" is not closed`)
      const c = this.text[this.pos++]
      if (c === '"') return out
      if (c !== '\\') {
        out += c
        continue
      }
      const e = this.text[this.pos++]
      if (e === '\\' || e === '"') out += e
      else if (e === 'n') out += '\n'
      else this.fail(`invalid escape "\\${e ?? ''}" in the value of label "${cut(labelName)}"`)
    }
  }

  /** The next run of non-blank characters. */
  token(): string {
    const start = this.pos
    while (!this.done && this.peek() !== ' ' && this.peek() !== '\t') this.pos++
    return this.text.slice(start, this.pos)
  }
}

/** `{name="value",...}` after the metric name: the labels, in the order given. */
function readLabels(s: LineScanner, into: Label[]): void {
  s.expect('{', 'to open the labels')
  s.skipBlanks()
  while (s.peek() !== '}') {
    if (s.done) s.fail('the labels are not closed with "}"')
    const name = s.name('label name')
    s.skipBlanks()
    s.expect('=', `after label name "${cut(name)}"`)
    s.skipBlanks()
    into.push({ name, value: s.quoted(name) })
    s.skipBlanks()
    if (s.peek() === ',') {
      s.pos++
      s.skipBlanks()
    } else if (s.peek() !== '}') {
      s.fail(`expected "," or "}" after the value of label "${cut(name)}" at column ${s.pos + 1}`)
    }
  }
  s.pos++
}

/** HELP text: the rest of the line, with the escapes \\ and \n (and \" in OpenMetrics). */
function unescapeHelp(s: LineScanner, text: string, format: TextFormat): string {
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c !== '\\') {
      out += c
      continue
    }
    const e = text[++i]
    if (e === '\\') out += '\\'
    else if (e === 'n') out += '\n'
    else if (e === '"' && format === 'openmetrics') out += '"'
    // Prometheus's own parser keeps an unknown escape as written.
    else if (format === 'prometheus') out += '\\' + (e ?? '')
    else s.fail(`invalid escape "\\${e ?? ''}" in HELP`)
  }
  return out
}

interface FamilyMetadata {
  type?: MetricType
  help?: string
  unit?: string
}

function readComment(s: LineScanner, format: TextFormat, families: Map<string, FamilyMetadata>): 'eof' | undefined {
  s.pos = 1
  s.skipBlanks()
  const keyword = s.token()
  if (keyword === 'EOF' && s.text.trim() === '# EOF') return 'eof'
  if (keyword !== 'HELP' && keyword !== 'TYPE' && keyword !== 'UNIT') {
    // A plain comment: allowed in the Prometheus format, not in OpenMetrics.
    if (format === 'openmetrics') s.fail(`unknown comment "${cut(s.text)}" (OpenMetrics allows # HELP, # TYPE, # UNIT and # EOF)`)
    return undefined
  }
  s.skipBlanks()
  const family = s.name(`metric name after # ${keyword}`)
  let entry = families.get(family)
  if (!entry) families.set(family, (entry = {}))
  let rest = ''
  if (!s.done) {
    if (s.peek() !== ' ' && s.peek() !== '\t') s.fail(`expected a blank after the metric name "${cut(family)}" at column ${s.pos + 1}`)
    s.pos++
    rest = s.text.slice(s.pos)
  }
  if (keyword === 'HELP') {
    if (entry.help !== undefined) s.fail(`second HELP line for metric "${cut(family)}"`)
    entry.help = unescapeHelp(s, rest, format)
  } else if (keyword === 'TYPE') {
    if (entry.type !== undefined) s.fail(`second TYPE line for metric "${cut(family)}"`)
    const type = TYPES[format][rest.trim()]
    if (type === undefined) s.fail(`unknown metric type "${cut(rest.trim())}" for "${cut(family)}"`)
    entry.type = type
  } else {
    if (entry.unit !== undefined) s.fail(`second UNIT line for metric "${cut(family)}"`)
    entry.unit = rest.trim()
  }
  return undefined
}

function readTimestamp(s: LineScanner, text: string, format: TextFormat): number {
  if (format === 'openmetrics') {
    // OpenMetrics: seconds, possibly fractional.
    const seconds = parseFloatValue(text)
    if (seconds === undefined || !Number.isFinite(seconds)) s.fail(`invalid timestamp "${cut(text)}" (seconds expected)`)
    return Math.round(seconds * 1000)
  }
  if (!INT_RE.test(text)) s.fail(`invalid timestamp "${cut(text)}" (integer milliseconds expected)`)
  const ms = Number(text)
  if (!Number.isSafeInteger(ms)) s.fail(`timestamp "${cut(text)}" out of range`)
  return ms
}

function readSample(s: LineScanner, format: TextFormat, defaultTimestampMs: number): { labels: Label[]; value: number; timestampMs: number } {
  const name = s.name('metric name')
  const labels: Label[] = [{ name: '__name__', value: name }]
  if (s.peek() === '{') readLabels(s, labels)
  if (s.peek() !== ' ' && s.peek() !== '\t') {
    if (s.done) s.fail(`no value for "${cut(name)}"`)
    s.fail(`expected a blank before the value at column ${s.pos + 1}, found ${JSON.stringify(s.peek())}`)
  }
  s.skipBlanks()
  const valueText = s.token()
  const value = parseFloatValue(valueText)
  if (value === undefined) s.fail(valueText === '' ? `no value for "${cut(name)}"` : `invalid value "${cut(valueText)}"`)
  s.skipBlanks()
  let timestampMs = defaultTimestampMs
  if (!s.done && s.peek() !== '#') {
    timestampMs = readTimestamp(s, s.token(), format)
    s.skipBlanks()
  }
  if (!s.done) {
    // OpenMetrics exemplars (` # {trace_id="..."} 1 [ts]`) are accepted and not stored.
    if (format !== 'openmetrics' || s.peek() !== '#') s.fail(`unexpected text after the sample: "${cut(s.text.slice(s.pos))}"`)
    s.pos++
    s.skipBlanks()
    const exemplarLabels: Label[] = []
    readLabels(s, exemplarLabels)
  }
  return { labels, value, timestampMs }
}

function labelsKey(labels: readonly Label[]): string {
  let key = ''
  for (const l of labels) key += `${l.name}\u0000${l.value}\u0001`
  return key
}

/** The whole body, or an ExpositionError naming its first malformed line. */
export function decodeExposition(text: string, opts: ExpositionOptions): DecodedExposition {
  const families = new Map<string, FamilyMetadata>()
  const byLabels = new Map<string, DecodedSeries>()
  const lines = text.split('\n')
  // A body ending in a newline has an empty last "line", which is not a line.
  const count = lines.length > 0 && lines[lines.length - 1] === '' ? lines.length - 1 : lines.length
  let sawEof = false
  for (let i = 0; i < count; i++) {
    let line = lines[i]
    if (line.endsWith('\r')) line = line.slice(0, -1)
    const s = new LineScanner(line, i + 1)
    if (sawEof) s.fail('text after "# EOF"')
    // Blank lines: allowed in the Prometheus format; OpenMetrics forbids them, but a trailing
    // one from a hand-written push is no reason to refuse the data.
    if (line.trim() === '') continue
    if (line.startsWith('#')) {
      if (readComment(s, opts.format, families) === 'eof') sawEof = true
      continue
    }
    const { labels, value, timestampMs } = readSample(s, opts.format, opts.defaultTimestampMs)
    const key = labelsKey(labels)
    let series = byLabels.get(key)
    if (!series) byLabels.set(key, (series = { labels, samples: [], histogramCount: 0, exemplarCount: 0 }))
    series.samples.push(value !== value ? { timestampMs, value, nanBits: NORMAL_NAN_BITS } : { timestampMs, value })
  }
  if (opts.format === 'openmetrics' && !sawEof) throw new ExpositionError(count + 1, 'missing "# EOF" at the end (OpenMetrics requires it)')
  const metadata: MetricMetadata[] = []
  for (const [metricFamilyName, m] of families) {
    metadata.push({ metricFamilyName, type: m.type ?? 'unknown', help: m.help ?? '', unit: m.unit ?? '' })
  }
  return { series: [...byLabels.values()], metadata }
}
