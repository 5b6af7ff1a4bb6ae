/**
 * Remote-write 2.0 decoder: io.prometheus.write.v2.Request bytes (already un-snappied)
 * -> DecodedWriteRequest, the same shape 1.0 decodes to. Schema: remote-write-v2.proto.
 *
 * Shape, and why: as decode-v1.ts (hand-written, zero-copy, one function per message).
 * The symbol table is decoded once into strings and label refs index into it, so a
 * label costs two array reads instead of two string decodes; that is the point of 2.0.
 * The request is read in two passes (symbols first, then series) because protobuf does
 * not promise that field 4 comes before field 5 on the wire; the first pass only
 * records where each series starts and ends.
 */
import type { DecodedSeries, DecodedWriteRequest, Label, MetricType, Sample } from './types.js'
import { metricTypeOf } from './decode-v1.js'
import { WIRE_I64, WIRE_LEN, WIRE_VARINT, WireReader } from './wire-reader.js'

export function decodeWriteRequestV2(buf: Uint8Array): DecodedWriteRequest {
  const r = new WireReader(buf, 'remote-write 2.0 request')
  const end = buf.length
  const symbols: string[] = []
  const seriesBounds: number[] = []
  while (r.pos < end) {
    const at = r.pos
    const tag = r.uint32(end)
    const fieldNo = tag >>> 3
    const wt = tag & 7
    if (fieldNo === 4) {
      r.expectWireType(wt, WIRE_LEN, 4, 'Request', at)
      const strEnd = r.lengthEnd(end)
      symbols.push(r.string(r.pos, strEnd))
      r.pos = strEnd
    } else if (fieldNo === 5) {
      r.expectWireType(wt, WIRE_LEN, 5, 'Request', at)
      const tsEnd = r.lengthEnd(end)
      seriesBounds.push(r.pos, tsEnd)
      r.pos = tsEnd
    } else {
      if (fieldNo === 0) r.fail('field number 0', at)
      r.skip(wt, fieldNo, end)
    }
  }
  const series: DecodedSeries[] = new Array(seriesBounds.length >> 1)
  for (let i = 0; i < seriesBounds.length; i += 2) {
    r.pos = seriesBounds[i]
    series[i >> 1] = readTimeSeries(r, seriesBounds[i + 1], symbols, i >> 1)
  }
  return { version: '2.0', series, metadata: [] }
}

function symbol(r: WireReader, symbols: string[], ref: number, seriesIndex: number, what: string): string {
  if (ref >= symbols.length) {
    r.fail(`series ${seriesIndex}: ${what} ref ${ref} is out of range (${symbols.length} symbols)`)
  }
  return symbols[ref]
}

function readTimeSeries(r: WireReader, end: number, symbols: string[], seriesIndex: number): DecodedSeries {
  const refs: number[] = []
  const samples: Sample[] = []
  let exemplarCount = 0
  let histogramCount = 0
  let metadata: { type: MetricType; help: string; unit: string } = { type: 'unknown', help: '', unit: '' }
  let createdTimestampMs = 0
  while (r.pos < end) {
    const at = r.pos
    const tag = r.uint32(end)
    const fieldNo = tag >>> 3
    const wt = tag & 7
    switch (fieldNo) {
      case 1:
        // Repeated scalars may come packed (the norm) or one per tag; both are valid.
        if (wt === WIRE_LEN) {
          const refsEnd = r.lengthEnd(end)
          while (r.pos < refsEnd) refs.push(r.uint32(refsEnd))
        } else {
          r.expectWireType(wt, WIRE_VARINT, 1, 'TimeSeries', at)
          refs.push(r.uint32(end))
        }
        break
      case 2:
        r.expectWireType(wt, WIRE_LEN, 2, 'TimeSeries', at)
        samples.push(readSample(r, r.lengthEnd(end)))
        break
      case 3:
        r.skipMessage(wt, 3, 'TimeSeries', end, at)
        histogramCount++
        break
      case 4:
        r.skipMessage(wt, 4, 'TimeSeries', end, at)
        exemplarCount++
        break
      case 5:
        r.expectWireType(wt, WIRE_LEN, 5, 'TimeSeries', at)
        // A repeated occurrence of a singular message merges; fields set later win.
        metadata = readMetadata(r, r.lengthEnd(end), symbols, seriesIndex, metadata)
        break
      case 6:
        r.expectWireType(wt, WIRE_VARINT, 6, 'TimeSeries', at)
        createdTimestampMs = r.int64(end)
        break
      case 0:
        r.fail('field number 0', at)
        break
      default:
        r.skip(wt, fieldNo, end)
    }
  }
  if ((refs.length & 1) !== 0) {
    r.fail(`series ${seriesIndex}: labels_refs has odd length ${refs.length}`)
  }
  const labels: Label[] = new Array(refs.length >> 1)
  for (let i = 0; i < refs.length; i += 2) {
    labels[i >> 1] = {
      name: symbol(r, symbols, refs[i], seriesIndex, 'label name'),
      value: symbol(r, symbols, refs[i + 1], seriesIndex, 'label value'),
    }
  }
  return { labels, samples, histogramCount, exemplarCount, metadata, createdTimestampMs }
}

function readSample(r: WireReader, end: number): Sample {
  let value = 0
  let timestampMs = 0
  let nanBits: bigint | undefined = undefined
  let startTimestampMs = 0
  while (r.pos < end) {
    const at = r.pos
    const tag = r.uint32(end)
    if (tag === 0x09) {
      value = r.double(end)
      nanBits = value !== value ? r.lastDoubleBits() : undefined
    } else if (tag === 0x10) {
      timestampMs = r.int64(end)
    } else if (tag === 0x18) {
      startTimestampMs = r.int64(end)
    } else {
      const fieldNo = tag >>> 3
      const wt = tag & 7
      if (fieldNo === 1) r.expectWireType(wt, WIRE_I64, 1, 'Sample', at)
      if (fieldNo === 2 || fieldNo === 3) r.expectWireType(wt, WIRE_VARINT, fieldNo, 'Sample', at)
      if (fieldNo === 0) r.fail('field number 0', at)
      r.skip(wt, fieldNo, end)
    }
  }
  return { timestampMs, value, nanBits, startTimestampMs }
}

function readMetadata(
  r: WireReader,
  end: number,
  symbols: string[],
  seriesIndex: number,
  prev: { type: MetricType; help: string; unit: string },
): { type: MetricType; help: string; unit: string } {
  let { type, help, unit } = prev
  while (r.pos < end) {
    const at = r.pos
    const tag = r.uint32(end)
    const fieldNo = tag >>> 3
    const wt = tag & 7
    switch (fieldNo) {
      case 1:
        r.expectWireType(wt, WIRE_VARINT, 1, 'Metadata', at)
        type = metricTypeOf(r.uint32(end))
        break
      case 3:
        r.expectWireType(wt, WIRE_VARINT, 3, 'Metadata', at)
        help = symbol(r, symbols, r.uint32(end), seriesIndex, 'help')
        break
      case 4:
        r.expectWireType(wt, WIRE_VARINT, 4, 'Metadata', at)
        unit = symbol(r, symbols, r.uint32(end), seriesIndex, 'unit')
        break
      case 0:
        r.fail('field number 0', at)
        break
      default:
        r.skip(wt, fieldNo, end)
    }
  }
  return { type, help, unit }
}
