/**
 * Remote-write 1.0 encoder: series -> prometheus.WriteRequest bytes. This is the WAL
 * record format and the Kafka message body, so every accepted sample passes through it.
 *
 * Shape, and why: one growing Uint8Array written front to back. A nested message's
 * length comes before its bytes, so a guess of its varint size (1 byte for a Label,
 * 2 for a TimeSeries: node_exporter series are 150-400 bytes) is reserved and the body
 * shifted in the rare case the guess is wrong, instead of a sizing pass over every
 * string. ASCII strings are written char by char (no TextEncoder call for 5-30 byte
 * strings). Output is byte-identical to protobufjs's (tested); bench/decode.ts,
 * 2026-11-26: 0.90M samples/s against protobufjs's 0.70M (2000-series requests).
 * NaN samples are written with their `nanBits` when present so that the stale marker
 * (0x7ff0000000000002) survives a round trip bit for bit.
 */
import type { SeriesSamples } from './series-ref.js'
import type { Label, MetricMetadata, Sample } from './types.js'
import { METRIC_TYPES } from './decode-v1.js'

export interface SeriesToEncode {
  labels: Label[]
  samples: Sample[]
}

/** Decoded series, or accepted ones (whose labels are their SeriesRef's). */
export type EncodableSeries = SeriesToEncode | SeriesSamples

const TWO_POW_32 = 4294967296

class Writer {
  buf: Uint8Array
  view: DataView
  pos = 0
  private readonly utf8 = new TextEncoder()

  constructor(initial: number) {
    this.buf = new Uint8Array(Math.max(64, initial))
    this.view = new DataView(this.buf.buffer)
  }

  ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + extra) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
    this.view = new DataView(next.buffer)
  }

  /** Unsigned varint of a non-negative integer below 2^53. */
  varint(n: number): void {
    this.ensure(10)
    const buf = this.buf
    let pos = this.pos
    while (n > 0x7fffffff) {
      buf[pos++] = (n % 128) | 0x80
      n = Math.floor(n / 128)
    }
    while (n > 0x7f) {
      buf[pos++] = (n & 0x7f) | 0x80
      n >>>= 7
    }
    buf[pos++] = n
    this.pos = pos
  }

  /** int64 varint: negative numbers as 10-byte two's complement, as protobuf has it. */
  int64(n: number): void {
    if (n >= 0) {
      this.varint(n)
      return
    }
    this.ensure(10)
    const hiSigned = Math.floor(n / TWO_POW_32)
    let lo = (n - hiSigned * TWO_POW_32) >>> 0
    let hi = hiSigned >>> 0
    const buf = this.buf
    let pos = this.pos
    for (let i = 0; i < 4; i++) {
      buf[pos++] = (lo & 0x7f) | 0x80
      lo >>>= 7
    }
    buf[pos++] = (lo & 0x0f) | ((hi & 0x07) << 4) | 0x80
    hi >>>= 3
    for (let i = 0; i < 4; i++) {
      buf[pos++] = (hi & 0x7f) | 0x80
      hi >>>= 7
    }
    buf[pos++] = hi & 0x01
    this.pos = pos
  }

  /** Tag, length and UTF-8 bytes of a string field. */
  string(tag: number, s: string): void {
    const n = s.length
    // Worst case 3 bytes per UTF-16 unit, plus tag and a 5-byte length.
    this.ensure(n * 3 + 6)
    const buf = this.buf
    buf[this.pos++] = tag
    let pos = this.pos
    if (n < 128) {
      let i = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        buf[pos + 1 + i] = c
      }
      if (i === n) {
        buf[pos] = n
        this.pos = pos + 1 + n
        return
      }
    }
    // Non-ASCII or long: encode after a 5-byte gap, then close it up.
    const written = this.utf8.encodeInto(s, buf.subarray(pos + 5)).written
    const lenStart = pos
    const save = this.pos
    this.pos = lenStart
    this.varint(written)
    const lenSize = this.pos - lenStart
    this.pos = save
    buf.copyWithin(lenStart + lenSize, lenStart + 5, lenStart + 5 + written)
    pos = lenStart + lenSize + written
    this.pos = pos
  }

  /** Opens a length-delimited field; returns where its body starts. */
  open(tag: number, reserve: number): number {
    this.ensure(1 + reserve)
    this.buf[this.pos++] = tag
    this.pos += reserve
    return this.pos
  }

  /** Closes a field opened with `open`, writing its length into the reserved bytes. */
  close(bodyStart: number, reserve: number): void {
    const len = this.pos - bodyStart
    let size = 1
    for (let v = len; v > 0x7f; v = Math.floor(v / 128)) size++
    const lenStart = bodyStart - reserve
    if (size !== reserve) {
      this.ensure(size - reserve)
      this.buf.copyWithin(lenStart + size, bodyStart, bodyStart + len)
    }
    const end = lenStart + size + len
    this.pos = lenStart
    this.varint(len)
    this.pos = end
  }

  /** Field 1 of a Sample; also makes room for the timestamp field that follows. */
  double(value: number, nanBits: bigint | undefined): void {
    this.ensure(20)
    this.buf[this.pos++] = 0x09
    if (nanBits !== undefined && value !== value) this.view.setBigUint64(this.pos, nanBits, true)
    else this.view.setFloat64(this.pos, value, true)
    this.pos += 8
  }
}

/**
 * Encodes series (and optional metadata) as a remote-write 1.0 WriteRequest. The
 * result is a view of the encoder's buffer, owned by the caller.
 */
export function encodeWriteRequestV1(series: readonly EncodableSeries[], metadata?: readonly MetricMetadata[]): Uint8Array {
  const w = new Writer(series.length * 320 + (metadata?.length ?? 0) * 128)
  for (const s of series) {
    const tsStart = w.open(0x0a, 2)
    for (const l of 'ref' in s ? s.ref.labels : s.labels) {
      const lStart = w.open(0x0a, 1)
      w.string(0x0a, l.name)
      w.string(0x12, l.value)
      w.close(lStart, 1)
    }
    for (const sample of s.samples) {
      const sStart = w.open(0x12, 1)
      w.double(sample.value, sample.nanBits)
      w.buf[w.pos++] = 0x10
      w.int64(Math.trunc(sample.timestampMs))
      w.close(sStart, 1)
    }
    w.close(tsStart, 2)
  }
  if (metadata !== undefined) {
    for (const m of metadata) {
      const mStart = w.open(0x1a, 1)
      const type = METRIC_TYPES.indexOf(m.type)
      if (type > 0) {
        w.ensure(2)
        w.buf[w.pos++] = 0x08
        w.varint(type)
      }
      w.string(0x12, m.metricFamilyName)
      if (m.help !== '') w.string(0x22, m.help)
      if (m.unit !== '') w.string(0x2a, m.unit)
      w.close(mStart, 1)
    }
  }
  return w.buf.subarray(0, w.pos)
}
