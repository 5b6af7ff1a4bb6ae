/**
 * Parser for Prometheus's PromQL test scripting language (`load`, `clear`, `eval instant`,
 * `eval range`, deprecated `eval_fail|warn|info|ordered`, `expect ...`,
 * `expected_fail_message|regexp`). See /work/shared/promqltest/FORMAT.md.
 */
import { parseDuration } from '../lexer.js'
import { parseSeriesLabels, parseSeriesLine, type SeriesValue } from '../series-notation.js'
import { UnsupportedSeriesNotationError } from '../series-notation.js'

export interface LoadSeries {
  readonly labels: Record<string, string>
  readonly values: readonly SeriesValue[]
}

export interface LoadCommand {
  readonly kind: 'load'
  readonly line: number
  /** ms between values. */
  readonly interval: number
  readonly series: readonly LoadSeries[]
  /** Label sets of series whose values used native-histogram notation (not loaded; queries on them are unsupported). */
  readonly histogramSeries: readonly Record<string, string>[]
  readonly withNhcb: boolean
}

export interface ClearCommand {
  readonly kind: 'clear'
  readonly line: number
}

export type ExpectType = 'ordered' | 'fail' | 'warn' | 'no_warn' | 'info' | 'no_info'

export interface Expectation {
  readonly type: ExpectType
  /** Exact message (`msg:`) or regular expression source (`regex:`); neither = anything. */
  readonly message?: string
  readonly regex?: string
}

export interface ExpectedSeries {
  readonly labels: Record<string, string>
  readonly values: readonly SeriesValue[]
  /** 1-based position in the expectation list (for ordered results). */
  readonly pos: number
}

export interface EvalCommand {
  readonly kind: 'eval'
  readonly line: number
  readonly query: string
  readonly instant: boolean
  /** Instant: evaluation time; range: start. ms. */
  readonly start: number
  readonly end: number
  readonly step: number
  readonly fail: boolean
  readonly warn: boolean
  readonly info: boolean
  readonly ordered: boolean
  readonly expectedFailMessage?: string
  readonly expectedFailRegexp?: string
  readonly expects: readonly Expectation[]
  /** Scalar expectation (a bare number line). */
  readonly scalar?: number
  readonly series: readonly ExpectedSeries[]
  /** Expected values used native-histogram notation. */
  readonly expectsHistograms: boolean
}

export type Command = LoadCommand | ClearCommand | EvalCommand

export class TestFileSyntaxError extends Error {
  override readonly name = 'TestFileSyntaxError'
}

const EVAL_INSTANT = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$/
const EVAL_RANGE = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$/
const LOAD = /^load(?:_(with_nhcb))?\s+(.+?)$/
const EXPECT = /^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$/

/** Go's ParseInt(s, 0, 64) then ParseFloat(s, 64), for bare-number expectation lines. */
export function parseTestNumber(s: string): number | undefined {
  if (/^[+-]?(0[xX][0-9a-fA-F]+|\d+)$/.test(s)) return Number(s.replace(/^([+-]?)0([0-7]+)$/, (_m, sign: string, oct: string) => String(parseInt(sign + oct, 8))))
  const t = s.toLowerCase()
  if (/^[+-]?(inf|infinity)$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity
  if (/^[+-]?nan$/.test(t)) return NaN
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return Number(t)
  return undefined
}

function duration(text: string, line: number): number {
  try {
    return parseDuration(text.trim())
  } catch (e) {
    throw new TestFileSyntaxError(`line ${line}: ${(e as Error).message}`)
  }
}

export function parseTestFile(text: string): Command[] {
  const lines = text.split('\n').map((l) => {
    const t = l.trim()
    return t.startsWith('#') ? '' : t
  })
  const cmds: Command[] = []
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]
    if (l === '') continue
    const lineNo = i + 1
    if (l === 'clear') { cmds.push({ kind: 'clear', line: lineNo }); continue }
    const load = LOAD.exec(l)
    if (load) {
      const interval = duration(load[2], lineNo)
      const series: LoadSeries[] = []
      const histogramSeries: Record<string, string>[] = []
      while (i + 1 < lines.length && lines[i + 1] !== '') {
        i++
        try {
          series.push(parseSeriesLine(lines[i]))
        } catch (e) {
          if (!(e instanceof UnsupportedSeriesNotationError)) throw new TestFileSyntaxError(`line ${i + 1}: ${(e as Error).message}`)
          histogramSeries.push(parseSeriesLabels(lines[i]))
        }
      }
      cmds.push({ kind: 'load', line: lineNo, interval, series, histogramSeries, withNhcb: load[1] === 'with_nhcb' })
      continue
    }
    if (l.startsWith('eval')) {
      cmds.push(parseEval(lines, i))
      while (i + 1 < lines.length && lines[i + 1] !== '') i++
      continue
    }
    throw new TestFileSyntaxError(`line ${lineNo}: unknown command ${JSON.stringify(l)}`)
  }
  return cmds
}

function parseEval(lines: string[], i: number): EvalCommand {
  const l = lines[i]
  const lineNo = i + 1
  const inst = EVAL_INSTANT.exec(l)
  const rng = inst ? null : EVAL_RANGE.exec(l)
  if (!inst && !rng) throw new TestFileSyntaxError(`line ${lineNo}: invalid evaluation command`)
  const mod = (inst ? inst[1] : rng![1]) ?? ''
  const query = inst ? inst[3] : rng![5]
  let start: number, end: number, step: number
  if (inst) {
    start = end = duration(inst[2] ?? '0s', lineNo)
    step = 0
  } else {
    start = duration(rng![2], lineNo)
    end = duration(rng![3], lineNo)
    step = duration(rng![4], lineNo)
  }
  const expects: Expectation[] = []
  const series: ExpectedSeries[] = []
  let scalar: number | undefined
  let expectedFailMessage: string | undefined
  let expectedFailRegexp: string | undefined
  let expectsHistograms = false
  let pos = 0
  for (let j = i + 1; j < lines.length && lines[j] !== ''; j++) {
    const d = lines[j]
    if (mod === 'fail' && d.startsWith('expected_fail_message')) { expectedFailMessage = d.slice('expected_fail_message'.length).trim(); break }
    if (mod === 'fail' && d.startsWith('expected_fail_regexp')) { expectedFailRegexp = d.slice('expected_fail_regexp'.length).trim(); break }
    if (d.split(' ')[0] === 'expect') {
      const m = EXPECT.exec(d.trim())
      if (!m) throw new TestFileSyntaxError(`line ${j + 1}: invalid expect statement`)
      const type = m[1] as ExpectType
      if (m[2] === 'msg') expects.push({ type, message: m[3].trim() })
      else if (m[2] === 'regex') expects.push({ type, regex: m[3].trim() })
      else expects.push({ type })
      continue
    }
    pos++
    const n = parseTestNumber(d)
    if (n !== undefined) { scalar = n; break }
    try {
      const s = parseSeriesLine(d)
      series.push({ labels: s.labels, values: s.values, pos })
    } catch (e) {
      if (!(e instanceof UnsupportedSeriesNotationError)) throw new TestFileSyntaxError(`line ${j + 1}: ${(e as Error).message}`)
      expectsHistograms = true
    }
  }
  return {
    kind: 'eval', line: lineNo, query, instant: !!inst, start, end, step,
    fail: mod === 'fail', warn: mod === 'warn', info: mod === 'info', ordered: mod === 'ordered',
    expectedFailMessage, expectedFailRegexp, expects, scalar, series, expectsHistograms,
  }
}
