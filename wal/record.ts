/**
 * Record framing of WAL segment files (hot path: runs once per append).
 *
 *   offset 0  u32 LE  CRC-32 (IEEE, zlib) of bytes 4..8 followed by the payload
 *          4  u32 LE  payload length in bytes
 *          8  u8      record type: 1 = full record (0 never valid, so zero-filled space
 *                     left by a torn write always fails)
 *          9  ...     payload
 *
 * Shape, and why: the 9-byte header is built in its own small buffer and written next to
 * the caller's payload with one writev, so a 300 KB record is never copied. The CRC is
 * zlib's native crc32 (Node >= 20.15, the project needs >= 20.19): 4.6 GB/s over 300 KB
 * buffers on this machine, against 0.39 GB/s for a table-driven CRC-32C in JS (measured
 * 2026-11-26, 2 cores); the Castagnoli polynomial was not worth 12x the cost.
 */
import { crc32 } from 'node:zlib'

export const RECORD_HEADER_BYTES = 9
export const RECORD_TYPE_FULL = 1
/** Length field is a u32; keep clear of its top so offsets stay small safe integers. */
export const MAX_RECORD_BYTES = 0x7fff_ffff

/** The header to write before `payload`. */
export function encodeRecordHeader(payload: Uint8Array): Buffer {
  const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES)
  header.writeUInt32LE(payload.byteLength, 4)
  header[8] = RECORD_TYPE_FULL
  header.writeUInt32LE(crc32(payload, crc32(header.subarray(4, RECORD_HEADER_BYTES))), 0)
  return header
}

export type HeaderCheck =
  /** The header is plausible; the payload is `length` bytes long. */
  | { kind: 'ok'; length: number; crc: number }
  /** The record would run past the end of the readable bytes. */
  | { kind: 'incomplete'; reason: string }
  /** The header itself is impossible (bad type). */
  | { kind: 'corrupt'; reason: string }

/**
 * Checks the header at `buf[at..at+9)`; `available` is how many bytes of the segment
 * exist from `at` on (so a length that runs past them is reported as incomplete).
 */
export function checkRecordHeader(buf: Uint8Array, at: number, available: number): HeaderCheck {
  if (available < RECORD_HEADER_BYTES) {
    return { kind: 'incomplete', reason: `header cut short: ${available} of ${RECORD_HEADER_BYTES} bytes` }
  }
  const view = Buffer.from(buf.buffer, buf.byteOffset + at, RECORD_HEADER_BYTES)
  const type = view[8]
  if (type !== RECORD_TYPE_FULL) return { kind: 'corrupt', reason: `unknown record type ${type}` }
  const length = view.readUInt32LE(4)
  if (length > available - RECORD_HEADER_BYTES) {
    return { kind: 'incomplete', reason: `length ${length} runs past the end (${available - RECORD_HEADER_BYTES} bytes left)` }
  }
  return { kind: 'ok', length, crc: view.readUInt32LE(0) }
}

/** True when the CRC stored in the header matches the header fields and payload. */
export function recordCrcMatches(header: Uint8Array, payload: Uint8Array, crc: number): boolean {
  return crc32(payload, crc32(header.subarray(4, RECORD_HEADER_BYTES))) === crc
}
