/**
 * A place in the write-ahead log: the segment file number and the byte offset of a
 * record's start in that file. Positions order the log; the flusher records them in its
 * checkpoint and builds ClickHouse dedup tokens from them, so they must stay stable for
 * as long as the bytes they point at are on disk.
 */
export interface WalPosition {
  segment: number
  /** Byte offset of a record's start in the segment file (or the segment's end). */
  offset: number
}

/** Negative when a is before b, 0 when equal, positive when a is after b. */
export function comparePositions(a: WalPosition, b: WalPosition): number {
  return a.segment !== b.segment ? a.segment - b.segment : a.offset - b.offset
}

/** `segment:offset`, e.g. `12:4096`: for log lines, error messages and dedup tokens. */
export function formatPosition(p: WalPosition): string {
  return `${p.segment}:${p.offset}`
}

/** True when p is a well-formed position: two non-negative safe integers. */
export function isWalPosition(p: unknown): p is WalPosition {
  if (typeof p !== 'object' || p === null) return false
  const { segment, offset } = p as Record<string, unknown>
  return isNonNegativeInt(segment) && isNonNegativeInt(offset)
}

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}
