/**
 * Remote-write 1.0 decoder that resolves each series through a SeriesCache instead of
 * building its labels: the steady-state ingest path. Same strictness as decode-v1.ts
 * (bounds, wire types, unknown fields skipped, BadRequestError on malformed input).
 *
 * Shape, and why (bench/decode.ts, 2026-11-26, node 20, 2000 node_exporter series x 1
 * sample cycling over 100 scrapes, samples per CPU-second, median of 5 runs): a series'
 * labels are only walked (tag + length per Label) to find their byte span, and the span
 * is the cache key, so a warm request makes no label string and computes no fingerprint:
 * 4.5M samples/s decode alone, 2.6M with the JS snappy decoder in front (1.4M with the
 * native one); cold (every series new: strings, StableHash, key copy) 0.29M; decode-v1
 * without a cache was 0.5-0.7M. Strings are decoded (fatal UTF-8) only on a miss; a hit
 * means the bytes equal a key that decoded fine, so invalid UTF-8 cannot get through. Labels are nearly always one contiguous span; when other
 * fields sit between them the Label entries are copied into one key, so the same label
 * sequence gives the same key either way.
 */
import type { Label, MetricMetadata, Sample } from './types.js'
import { readLabel, readMetadata, readSample } from './decode-v1.js'
import type { SeriesCache } from './series-cache.js'
import { WIRE_LEN, WireReader } from './wire-reader.js'

export interface CachedSeries<T> {
  /** The cache's value for this series' labels (computed on the first sighting). */
  entry: T
  samples: Sample[]
  histogramCount: number
  exemplarCount: number
}

export interface CachedWriteRequest<T> {
  series: CachedSeries<T>[]
  metadata: MetricMetadata[]
}

/** Decodes a remote-write 1.0 request (un-snappied); throws BadRequestError on malformed input. */
export function decodeWriteRequestV1Cached<T extends NonNullable<unknown>>(
  buf: Uint8Array,
  cache: SeriesCache<T>,
): CachedWriteRequest<T> {
  const r = new WireReader(buf, 'remote-write 1.0 request')
  const end = buf.length
  const series: CachedSeries<T>[] = []
  const metadata: MetricMetadata[] = []
  while (r.pos < end) {
    const at = r.pos
    const tag = r.uint32(end)
    const fieldNo = tag >>> 3
    const wt = tag & 7
    if (fieldNo === 1) {
      r.expectWireType(wt, WIRE_LEN, 1, 'WriteRequest', at)
      series.push(readTimeSeries(r, r.lengthEnd(end), cache))
    } else if (fieldNo === 3) {
      r.expectWireType(wt, WIRE_LEN, 3, 'WriteRequest', at)
      metadata.push(readMetadata(r, r.lengthEnd(end)))
    } else {
      if (fieldNo === 0) r.fail('field number 0', at)
      r.skip(wt, fieldNo, end)
    }
  }
  return { series, metadata }
}

function readTimeSeries<T extends NonNullable<unknown>>(r: WireReader, end: number, cache: SeriesCache<T>): CachedSeries<T> {
  const seriesStart = r.pos
  // Created on the first sample as a one-element literal: `[]` then push() allocates
  // room for 17 elements, and almost every series carries one sample.
  let samples: Sample[] | undefined
  let exemplarCount = 0
  let histogramCount = 0
  let keyStart = -1
  let keyEnd = -1
  let contiguous = true
  while (r.pos < end) {
    const at = r.pos
    const tag = r.uint32(end)
    if (tag === 0x0a) {
      // Label (field 1, length-delimited): only its extent matters here.
      const labelEnd = r.lengthEnd(end)
      if (keyStart < 0) keyStart = at
      else if (at !== keyEnd) contiguous = false
      keyEnd = labelEnd
      r.pos = labelEnd
      continue
    }
    const fieldNo = tag >>> 3
    const wt = tag & 7
    switch (fieldNo) {
      case 1:
        r.expectWireType(wt, WIRE_LEN, 1, 'TimeSeries', at) // always throws: 0x0a was taken above
        break
      case 2:
      {
        r.expectWireType(wt, WIRE_LEN, 2, 'TimeSeries', at)
        const sample = readSample(r, r.lengthEnd(end))
        if (samples === undefined) samples = [sample]
        else samples.push(sample)
        break
      }
      case 3:
        r.skipMessage(wt, 3, 'TimeSeries', end, at)
        exemplarCount++
        break
      case 4:
        r.skipMessage(wt, 4, 'TimeSeries', end, at)
        histogramCount++
        break
      case 0:
        r.fail('field number 0', at)
        break
      default:
        r.skip(wt, fieldNo, end)
    }
  }
  let key = r.buf
  let view = r.view
  if (keyStart < 0) {
    keyStart = keyEnd = 0
  } else if (!contiguous) {
    key = joinLabelEntries(r, seriesStart, end)
    view = new DataView(key.buffer, key.byteOffset, key.byteLength)
    keyStart = 0
    keyEnd = key.length
  }
  let entry = cache.lookup(key, view, keyStart, keyEnd)
  if (entry === undefined) {
    entry = cache.insert(key, view, keyStart, keyEnd, cache.compute(readLabels(r, seriesStart, end)))
  }
  return { entry, samples: samples ?? [], histogramCount, exemplarCount }
}

/** Decodes the Labels of the (already walked, so well-formed) TimeSeries [start, end). */
function readLabels(r: WireReader, start: number, end: number): Label[] {
  const labels: Label[] = []
  r.pos = start
  while (r.pos < end) {
    const tag = r.uint32(end)
    if (tag === 0x0a) {
      const labelEnd = r.lengthEnd(end)
      labels.push(readLabel(r, labelEnd))
    } else {
      r.skip(tag & 7, tag >>> 3, end)
    }
  }
  return labels
}

/** The TimeSeries' Label entries (tag, length, bytes) copied into one key, in order. */
function joinLabelEntries(r: WireReader, start: number, end: number): Uint8Array {
  const spans: number[] = []
  let size = 0
  r.pos = start
  while (r.pos < end) {
    const at = r.pos
    const tag = r.uint32(end)
    if (tag === 0x0a) {
      const labelEnd = r.lengthEnd(end)
      spans.push(at, labelEnd)
      size += labelEnd - at
      r.pos = labelEnd
    } else {
      r.skip(tag & 7, tag >>> 3, end)
    }
  }
  const key = new Uint8Array(size)
  let k = 0
  for (let i = 0; i < spans.length; i += 2) {
    key.set(r.buf.subarray(spans[i], spans[i + 1]), k)
    k += spans[i + 1] - spans[i]
  }
  r.pos = end
  return key
}
