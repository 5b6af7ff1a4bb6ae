/**
 * The expanding series value notation shared by promqltest `load`/`eval` blocks and
 * promtool's rule-test `input_series`: `1 2 3`, `0+10x100` (101 values), `10-1x5`,
 * `7x3` (the value 4 times), `_` (no sample), `_x3` (3 missing samples), `stale`,
 * `Inf`/`-Inf`/`NaN`. Increments accumulate step by step as Prometheus does, so the float
 * results are identical (0.1+0.1x9 is not 0.1 + 9 * 0.1).
 */
import { parseMetric } from './parser.js'
import { parseNumberLiteral } from './lexer.js'

/** One expanded position: a value, a staleness marker, or null when there is no sample. */
export type SeriesValue = { readonly v: number; readonly stale?: true } | null

/** Thrown for syntax outside the classic float notation (native histograms `{{...}}`). */
export class UnsupportedSeriesNotationError extends Error {
  override readonly name = 'UnsupportedSeriesNotationError'
}

const NUM = String.raw`(?:[+-]?(?:Inf|inf|NaN|nan|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))`
const ITEM_RE = new RegExp(String.raw`^(?:(_)(?:x(\d+))?|(stale)|(${NUM})(?:([+-])(${NUM}))?(?:x(\d+))?)$`)

function num(text: string): number {
  const sign = text.startsWith('-') ? -1 : 1
  const body = text.replace(/^[+-]/, '')
  return sign * parseNumberLiteral(body)
}

/** Expands a whitespace-separated value list. Throws Error with the bad item on bad syntax. */
export function expandSeriesValues(text: string): SeriesValue[] {
  const out: SeriesValue[] = []
  const trimmed = text.trim()
  if (trimmed === '') return out
  if (trimmed.includes('{{')) throw new UnsupportedSeriesNotationError('native histogram values ({{...}}) are not supported')
  for (const item of trimmed.split(/\s+/)) {
    const m = ITEM_RE.exec(item)
    if (!m) throw new Error(`bad series value ${JSON.stringify(item)}`)
    if (m[1]) {
      const n = m[2] === undefined ? 1 : Number(m[2])
      for (let j = 0; j < n; j++) out.push(null)
    } else if (m[3]) {
      out.push({ v: NaN, stale: true })
    } else {
      let v = num(m[4])
      const times = m[7] === undefined ? undefined : Number(m[7])
      if (m[5] === undefined) {
        // `7x3`: the value n+1 times; `7`: once.
        for (let j = 0; j <= (times ?? 0); j++) out.push({ v })
      } else {
        if (times === undefined) throw new Error(`bad series value ${JSON.stringify(item)}: an increment needs xN`)
        const inc = (m[5] === '-' ? -1 : 1) * num(m[6])
        out.push({ v })
        for (let j = 1; j <= times; j++) {
          v += inc
          out.push({ v })
        }
      }
    }
  }
  return out
}

/**
 * Splits a `metric{label="v"} <values>` line into its labels and expanded values.
 * The label part uses PromQL selector syntax with `=` only (quoted UTF-8 names allowed).
 */
export function parseSeriesLine(line: string): { labels: Record<string, string>; values: SeriesValue[] } {
  const { labels, rest } = splitSeriesLine(line)
  return { labels, values: expandSeriesValues(rest) }
}

/** Only the label part of a series line (values are not looked at). */
export function parseSeriesLabels(line: string): Record<string, string> {
  return splitSeriesLine(line).labels
}

function splitSeriesLine(line: string): { labels: Record<string, string>; rest: string } {
  const text = line.trim()
  let end = 0
  let inQuote: string | undefined
  let depth = 0
  for (; end < text.length; end++) {
    const c = text[end]
    if (inQuote) {
      if (c === '\\') end++
      else if (c === inQuote) inQuote = undefined
      continue
    }
    if (c === '"' || c === "'" || c === '`') inQuote = c
    else if (c === '{') depth++
    else if (c === '}') { depth--; if (depth === 0) { end++; break } }
    else if (depth === 0 && /\s/.test(c)) break
  }
  const metric = text.slice(0, end)
  return { labels: parseMetric(metric), rest: text.slice(end) }
}
