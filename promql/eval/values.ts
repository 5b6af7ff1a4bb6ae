/**
 * The evaluator's intermediate values. Every instant-vector-valued node is evaluated over a
 * whole step grid at once (an instant query is a grid of one step): a series holds one slot
 * per step plus a presence flag, so label work (keys, grouping, matching signatures) is done
 * once per series instead of once per step.
 */
import type { Labels } from '../api.js'

export interface Grid {
  readonly start: number
  readonly end: number
  /** ms between steps; 0 for a one-step grid. */
  readonly step: number
  readonly n: number
}

export function gridOf(start: number, end: number, step: number): Grid {
  if (end < start) return { start, end, step, n: 0 }
  const n = step > 0 ? Math.floor((end - start) / step) + 1 : 1
  return { start, end, step, n }
}

export function stepTime(g: Grid, i: number): number {
  return g.start + i * g.step
}

/** Canonical string of a label set: the identity used for grouping, matching and duplicates. */
export function labelsKey(labels: Labels): string {
  const names = Object.keys(labels).sort()
  let key = ''
  for (const n of names) key += n + '\xff' + labels[n] + '\xfe'
  return key
}

/** Key over a subset: `on` keeps only `names`; otherwise all but `names` and `__name__`. */
export function signatureKey(labels: Labels, on: boolean, names: readonly string[]): string {
  let key = ''
  if (on) {
    const sorted = [...names].sort()
    for (const n of sorted) key += n + '\xff' + (labels[n] ?? '') + '\xfe'
    return key
  }
  const skip = new Set(names)
  skip.add('__name__')
  for (const n of Object.keys(labels).sort()) {
    if (!skip.has(n)) key += n + '\xff' + labels[n] + '\xfe'
  }
  return key
}

export class VSeries {
  private cachedKey: string | undefined
  constructor(
    public readonly labels: Labels,
    /** Prometheus's DropName: remove `__name__` when the query finishes (delayed name removal). */
    public readonly dropName: boolean,
    public readonly values: Float64Array,
    public readonly present: Uint8Array,
  ) {}

  static empty(labels: Labels, dropName: boolean, n: number): VSeries {
    return new VSeries(labels, dropName, new Float64Array(n), new Uint8Array(n))
  }

  get key(): string {
    if (this.cachedKey === undefined) this.cachedKey = labelsKey(this.labels)
    return this.cachedKey
  }
}

/** A range-vector series: raw points (stale markers removed), sorted by time. */
export interface MSeries {
  readonly labels: Labels
  readonly dropName: boolean
  readonly ts: Float64Array
  readonly vs: Float64Array
  /** Running sum of SeriesData.counts (length ts.length + 1), when storage gave counts. */
  readonly countSums?: Float64Array
}

export interface ScalarValue { readonly kind: 'scalar'; readonly values: Float64Array }
export interface StringValue { readonly kind: 'string'; readonly value: string }
export interface VectorValue { readonly kind: 'vector'; readonly series: VSeries[] }
export interface MatrixValue {
  readonly kind: 'matrix'
  readonly series: MSeries[]
  /** Window length in ms: a step's window is (windowEnd - range, windowEnd]. */
  readonly range: number
  /** Per step of the grid: the window's end after offset and `@`. */
  readonly windowEnd: Float64Array
  /** Prometheus 2's window [windowEnd - range, windowEnd] (EngineOptions.closedWindows). */
  readonly closedLeft?: boolean
}

export type Value = ScalarValue | StringValue | VectorValue | MatrixValue

/** Labels describing the metric rather than the series: removed together (Prometheus's DropReserved). */
export function isMetadataLabel(name: string): boolean {
  return name === '__name__' || name === '__type__' || name === '__unit__'
}

export function dropNameLabel(labels: Labels): Labels {
  if (!('__name__' in labels) && !('__type__' in labels) && !('__unit__' in labels)) return labels
  const out: Record<string, string> = {}
  for (const k in labels) if (!isMetadataLabel(k)) out[k] = labels[k]
  return out
}

/** Go's math.Pow special cases where JavaScript's `**` differs. */
export function goPow(x: number, y: number): number {
  if (y === 0) return 1
  if (x === 1) return 1
  if ((x === -1) && (y === Infinity || y === -Infinity)) return 1
  return Math.pow(x, y)
}

/**
 * Neumaier-compensated increment, as Prometheus's kahansum.Inc: returns the new sum and
 * leaves the new compensation in `kahan.c`. Returning a tuple allocated an array per sample
 * and made GC a quarter of a 1000-series range query's CPU (profile, 2026-11-26).
 */
export const kahan = { c: 0 }

export function kahanAdd(inc: number, sum: number, c: number): number {
  const t = sum + inc
  if (t === Infinity || t === -Infinity) c = 0
  else if (Math.abs(sum) >= Math.abs(inc)) c += (sum - t) + inc
  else c += (inc - t) + sum
  kahan.c = c
  return t
}
