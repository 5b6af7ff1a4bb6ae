/**
 * A small protobuf writer for building remote-write requests in tests, apart from the
 * product's encoder so that the server is checked against an independent implementation,
 * and able to build what no encoder should: invalid UTF-8, out-of-range symbol refs, NaN
 * payloads given bit by bit.
 */

const utf8 = new TextEncoder()

class ProtoWriter {
  private readonly bytes: number[] = []

  varint(n: bigint | number): this {
    let v = BigInt.asUintN(64, BigInt(n))
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80)
      v >>= 7n
    }
    this.bytes.push(Number(v))
    return this
  }

  tag(field: number, wireType: number): this {
    return this.varint((field << 3) | wireType)
  }

  bytesField(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length)
    for (const b of data) this.bytes.push(b)
    return this
  }

  stringField(field: number, text: string | Uint8Array): this {
    return this.bytesField(field, typeof text === 'string' ? utf8.encode(text) : text)
  }

  /** A double field from its exact 64 bits (little-endian on the wire). */
  fixed64Field(field: number, bits: bigint): this {
    this.tag(field, 1)
    for (let i = 0n; i < 8n; i++) this.bytes.push(Number((bits >> (8n * i)) & 0xffn))
    return this
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes)
  }
}

/** The 64 bits of a double, as IEEE-754 has them. */
export function bitsOf(value: number): bigint {
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, value)
  return view.getBigUint64(0)
}

export interface TestSample {
  timestampMs: number
  value: number
  /** Exact bits to send instead of `value` (NaN payloads). */
  bits?: bigint
}

export interface TestSeries {
  /** In the order to send them; names or values may be raw bytes (invalid UTF-8). */
  labels: [string | Uint8Array, string | Uint8Array][]
  samples: TestSample[]
}

function sampleBits(s: TestSample): bigint {
  return s.bits ?? bitsOf(s.value)
}

/** Metric types by their number in both protos (1.0 MetricMetadata.MetricType, 2.0 Metadata.MetricType). */
export const METRIC_TYPE_NUMBER = { unknown: 0, counter: 1, gauge: 2, histogram: 3, gaugehistogram: 4, summary: 5, info: 6, stateset: 7 } as const

export interface TestMetadata {
  family: string
  type: keyof typeof METRIC_TYPE_NUMBER
  help: string
  unit: string
}

/** prometheus.WriteRequest bytes (uncompressed), with metadata entries (field 3) after the series. */
export function encodeRw1(series: readonly TestSeries[], metadata: readonly TestMetadata[] = []): Uint8Array {
  const request = new ProtoWriter()
  for (const s of series) {
    const ts = new ProtoWriter()
    for (const [name, value] of s.labels) ts.bytesField(1, new ProtoWriter().stringField(1, name).stringField(2, value).finish())
    for (const sample of s.samples) {
      ts.bytesField(2, new ProtoWriter().fixed64Field(1, sampleBits(sample)).tag(2, 0).varint(sample.timestampMs).finish())
    }
    request.bytesField(1, ts.finish())
  }
  for (const m of metadata) {
    request.bytesField(3, new ProtoWriter().tag(1, 0).varint(METRIC_TYPE_NUMBER[m.type]).stringField(2, m.family).stringField(4, m.help).stringField(5, m.unit).finish())
  }
  return request.finish()
}

export interface Rw2Series {
  /** name, value, name, value... as indexes into the symbols. */
  labelsRefs: number[]
  samples: TestSample[]
  /** Metadata field 5: the type's number and symbol refs of help and unit. */
  metadata?: { type: number; helpRef: number; unitRef: number }
}

/** io.prometheus.write.v2.Request bytes (uncompressed) from an explicit symbol table. */
export function encodeRw2Raw(symbols: readonly string[], series: readonly Rw2Series[]): Uint8Array {
  const request = new ProtoWriter()
  for (const s of symbols) request.stringField(4, s)
  for (const s of series) {
    const ts = new ProtoWriter()
    const refs = new ProtoWriter()
    for (const r of s.labelsRefs) refs.varint(r)
    ts.bytesField(1, refs.finish())
    for (const sample of s.samples) {
      ts.bytesField(2, new ProtoWriter().fixed64Field(1, sampleBits(sample)).tag(2, 0).varint(sample.timestampMs).finish())
    }
    if (s.metadata) ts.bytesField(5, new ProtoWriter().tag(1, 0).varint(s.metadata.type).tag(3, 0).varint(s.metadata.helpRef).tag(4, 0).varint(s.metadata.unitRef).finish())
    request.bytesField(5, ts.finish())
  }
  return request.finish()
}

/** io.prometheus.write.v2.Request bytes with the symbol table built from string labels. */
export function encodeRw2(series: readonly { labels: [string, string][]; samples: TestSample[]; metadata?: Omit<TestMetadata, 'family'> }[]): Uint8Array {
  const symbols = ['']
  const index = new Map<string, number>([['', 0]])
  const ref = (s: string): number => {
    let i = index.get(s)
    if (i === undefined) {
      i = symbols.length
      symbols.push(s)
      index.set(s, i)
    }
    return i
  }
  const rw2 = series.map((s) => ({
    labelsRefs: s.labels.flatMap(([n, v]) => [ref(n), ref(v)]),
    samples: s.samples,
    metadata: s.metadata && { type: METRIC_TYPE_NUMBER[s.metadata.type], helpRef: ref(s.metadata.help), unitRef: ref(s.metadata.unit) },
  }))
  return encodeRw2Raw(symbols, rw2)
}
