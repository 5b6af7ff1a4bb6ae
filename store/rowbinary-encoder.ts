/**
 * Hot path: accepted series -> RowBinaryWithNamesAndTypes rows for `INSERT INTO samples`.
 *
 * Binary because it is exact and cheap at both ends: a value is its 8 IEEE-754 bytes (a
 * stale marker's NaN payload travels as is, no text round trip), a timestamp its Int64
 * milliseconds (DateTime64(3) ticks), and ClickHouse reads both without parsing. Measured
 * 2026-12-04 on the shared 2-core box (bench/README.md, "Insert routes"): 200k rows into
 * `samples` took 400-460 ms of CPU as TabSeparated and 45-55 ms as RowBinary. The header
 * (names and types) makes the payload self-describing, so chDB reads it through the `file`
 * table function and a ClickHouse server straight from the HTTP body (store/connection.ts).
 */
import type { SeriesSamples } from '../proto/series-ref.js'

export type { SeriesSamples } from '../proto/series-ref.js'

/**
 * The columns the rows carry, in order, with the types the header declares: the table's own
 * (ClickHouse checks them against it; LowCardinality(String) travels as a plain String).
 */
const SAMPLE_COLUMNS: readonly (readonly [string, string])[] = [
  ['metric_name', 'LowCardinality(String)'],
  ['series_id', 'UInt64'],
  ['timestamp', "DateTime64(3, 'UTC')"],
  ['value', 'Float64'],
]

export const SAMPLE_INSERT_COLUMNS: readonly string[] = SAMPLE_COLUMNS.map(([name]) => name)

/** Canonical quiet NaN, used when a NaN arrives without its bits recorded. */
const DEFAULT_NAN_BITS = 0x7ff8000000000001n // Prometheus's NormalNaN
const TWO_32 = 2 ** 32
// Timestamp and value: 8 bytes each.
const ROW_TAIL = 16

function varUInt(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return out
}

/** A RowBinary String: LEB128 length, then the UTF-8 bytes. */
function rowBinaryString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8')
  return Buffer.concat([Buffer.from(varUInt(bytes.length)), bytes])
}

const HEADER: Buffer = Buffer.concat([
  Buffer.from(varUInt(SAMPLE_COLUMNS.length)),
  ...SAMPLE_COLUMNS.map(([name]) => rowBinaryString(name)),
  ...SAMPLE_COLUMNS.map(([, type]) => rowBinaryString(type)),
])

/** The first two columns of every row of a series: metric name and id. */
export function samplesRowPrefix(metricName: string, seriesId: bigint): Uint8Array {
  const name = rowBinaryString(metricName)
  const out = Buffer.allocUnsafe(name.length + 8)
  name.copy(out, 0)
  out.writeBigUInt64LE(seriesId, name.length)
  return out
}

/** The rows of `series`; fills each SeriesRef's insertPrefix the first time it is seen. */
export function encodeSamplesRowBinary(series: readonly SeriesSamples[]): { body: Buffer; rows: number } {
  let size = HEADER.length
  let rows = 0
  for (const s of series) {
    const prefix = (s.ref.insertPrefix ??= samplesRowPrefix(s.ref.metricName, s.ref.id))
    size += s.samples.length * (prefix.length + ROW_TAIL)
    rows += s.samples.length
  }
  const buf = Buffer.allocUnsafe(size)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  HEADER.copy(buf, 0)
  let pos = HEADER.length
  for (const s of series) {
    const prefix = s.ref.insertPrefix!
    const plen = prefix.length
    for (const sample of s.samples) {
      for (let i = 0; i < plen; i++) buf[pos + i] = prefix[i]
      pos += plen
      // Int64 little-endian from a safe integer, in two halves (no BigInt per sample);
      // `| 0` keeps the high half two's-complement for timestamps before 1970.
      const ts = sample.timestampMs
      view.setUint32(pos, ts >>> 0, true)
      view.setInt32(pos + 4, Math.floor(ts / TWO_32) | 0, true)
      if (Number.isNaN(sample.value)) view.setBigUint64(pos + 8, sample.nanBits ?? DEFAULT_NAN_BITS, true)
      else view.setFloat64(pos + 8, sample.value, true)
      pos += ROW_TAIL
    }
  }
  return { body: buf, rows }
}
