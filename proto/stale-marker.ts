/**
 * Prometheus's staleness marker: a NaN with one exact payload, 0x7ff0000000000002 (a normal
 * NaN is 0x7ff8000000000001). Remote write carries it bit for bit; the store keeps it in
 * `samples.value`; SQL recognises it by `reinterpretAsUInt64(value)`. Named here once.
 */

/** The marker's 64 bits (Sample.nanBits). */
export const STALE_NAN_BITS = 0x7ff0000000000002n

/** The same bits as ClickHouse prints `reinterpretAsUInt64(value)`: decimal text for SQL. */
export const STALE_MARKER_BITS_SQL = STALE_NAN_BITS.toString(10)
