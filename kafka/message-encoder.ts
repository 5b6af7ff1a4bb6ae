/**
 * Hot path of the adapter: an accepted request -> one message per partition it touches
 * (kafka/message-format.ts). Series keep their request order within a partition.
 *
 * Shape, and why: the adapter's profile (bench/kafka.ts, 2026-11-26) had 33% of its CPU in
 * encodeWriteRequestV1 and 13% in snappy compression. So when the receiver kept the
 * request unchanged (every series accepted as sent, the usual case), nothing is encoded:
 * - all series on one partition: the received snappy body is the message as is;
 * - else each partition's message is the concatenation of its series' TimeSeries fields
 *   cut out of the received (uncompressed) bytes, a valid WriteRequest by protobuf's
 *   rules; only the snappy compression remains.
 * A request with rejected series is encoded from the accepted series (proto/encode-v1.ts).
 */
import type { AcceptedBatch, AcceptedSeries } from '../adapter/sink.js'
import { encodeWriteRequestV1 } from '../proto/encode-v1.js'
import type { SnappyCodec } from '../proto/snappy.js'
import { FORMAT_HEADER, FORMAT_VERSION, REQUEST_HEADER } from './message-format.js'
import { partitionOf } from './partitioner.js'

/** What a series is partitioned by: its fingerprint, unless aggregation groups series (aggregation/partition-key.ts). */
export type PartitionKey = (series: AcceptedSeries) => bigint

const seriesKey: PartitionKey = (s) => s.ref.id

export interface OutMessage {
  partition: number
  value: Buffer
  headers: Record<string, string>
}

/** Groups a request's series by target partition, keeping the request's order within each. */
export function groupByPartition(series: readonly AcceptedSeries[], partitions: number, keyOf: PartitionKey = seriesKey): Map<number, AcceptedSeries[]> {
  const groups = new Map<number, AcceptedSeries[]>()
  for (const s of series) {
    const p = partitionOf(keyOf(s), partitions)
    const group = groups.get(p)
    if (group) group.push(s)
    else groups.set(p, [s])
  }
  return groups
}

function readVarint(buf: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0
  let scale = 1
  for (;;) {
    const b = buf[pos++]
    value += (b & 0x7f) * scale
    if ((b & 0x80) === 0) return [value, pos]
    scale *= 128
  }
}

/**
 * Byte ranges [start, end) of each top-level TimeSeries field (1) and of the metadata
 * fields (3) of an encoded WriteRequest, tag included. The request was decoded and
 * validated before, so it is well-formed; undefined if anything looks otherwise.
 */
export function topLevelRanges(buf: Uint8Array): { series: number[]; metadata: number[] } | undefined {
  const series: number[] = []
  const metadata: number[] = []
  let pos = 0
  while (pos < buf.length) {
    const start = pos
    const [key, afterKey] = readVarint(buf, pos)
    const field = Math.floor(key / 8)
    const wire = key & 7
    if (wire !== 2) return undefined // WriteRequest has only length-delimited fields
    const [length, afterLength] = readVarint(buf, afterKey)
    pos = afterLength + length
    if (pos > buf.length) return undefined
    if (field === 1) series.push(start, pos)
    else if (field === 3) metadata.push(start, pos)
  }
  return { series, metadata }
}

function cutMessages(raw: Uint8Array, batch: AcceptedBatch, partitions: number, snappy: SnappyCodec, headers: Record<string, string>, keyOf: PartitionKey): OutMessage[] | undefined {
  const ranges = topLevelRanges(raw)
  if (!ranges || ranges.series.length !== batch.series.length * 2) return undefined
  const byPartition = new Map<number, number[]>()
  for (let i = 0; i < batch.series.length; i++) {
    const p = partitionOf(keyOf(batch.series[i]), partitions)
    let list = byPartition.get(p)
    if (!list) byPartition.set(p, (list = []))
    list.push(ranges.series[2 * i], ranges.series[2 * i + 1])
  }
  if (byPartition.size === 1 && batch.originalRw1Snappy) {
    const body = batch.originalRw1Snappy
    return [{ partition: byPartition.keys().next().value as number, value: Buffer.from(body.buffer, body.byteOffset, body.byteLength), headers }]
  }
  const out: OutMessage[] = []
  let first = true
  for (const [partition, list] of byPartition) {
    // Metadata rides with the first message only: it describes metric names, not samples.
    const parts = first ? [...list, ...ranges.metadata] : list
    first = false
    let size = 0
    for (let k = 0; k < parts.length; k += 2) size += parts[k + 1] - parts[k]
    const message = new Uint8Array(size)
    let at = 0
    for (let k = 0; k < parts.length; k += 2) {
      message.set(raw.subarray(parts[k], parts[k + 1]), at)
      at += parts[k + 1] - parts[k]
    }
    const value = snappy.compress(message)
    out.push({ partition, value: Buffer.from(value.buffer, value.byteOffset, value.byteLength), headers })
  }
  return out
}

export function encodeRequestMessages(batch: AcceptedBatch, partitions: number, snappy: SnappyCodec, keyOf: PartitionKey = seriesKey): OutMessage[] {
  const headers: Record<string, string> = { [FORMAT_HEADER]: FORMAT_VERSION }
  if (batch.requestId !== undefined) headers[REQUEST_HEADER] = batch.requestId.toString()
  if (batch.originalRw1) {
    const cut = cutMessages(batch.originalRw1, batch, partitions, snappy, headers, keyOf)
    if (cut) return cut
  }
  const groups = groupByPartition(batch.series, partitions, keyOf)
  const out: OutMessage[] = []
  let first = true
  for (const [partition, series] of groups) {
    let value: Uint8Array
    if (groups.size === 1 && batch.originalRw1Snappy) value = batch.originalRw1Snappy
    else {
      // Metadata rides with the first message only: it describes metric names, not samples.
      value = snappy.compress(encodeWriteRequestV1(series, first ? batch.metadata : undefined))
    }
    first = false
    out.push({ partition, value: Buffer.from(value.buffer, value.byteOffset, value.byteLength), headers })
  }
  return out
}
