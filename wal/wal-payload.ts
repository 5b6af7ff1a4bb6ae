/**
 * What one WAL record holds: the id of the request it came from, then the batch as a
 * snappy-compressed prometheus.WriteRequest.
 *
 *   offset 0  u8       payload version (1)
 *   offset 1  u64 LE   request id (xxHash64 of the request body as received; 0 = none)
 *   offset 9  ...      snappy(prometheus.WriteRequest)
 *
 * The request id survives a crash with the record, so a sender's retry of a request that
 * was made durable just before the crash (the answer never reached it) is recognised
 * after the restart and not stored a second time.
 */
export const WAL_PAYLOAD_VERSION = 1
const HEADER_BYTES = 9

export function encodeWalPayload(requestId: bigint, writeRequestSnappy: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + writeRequestSnappy.length)
  out[0] = WAL_PAYLOAD_VERSION
  new DataView(out.buffer).setBigUint64(1, requestId, true)
  out.set(writeRequestSnappy, HEADER_BYTES)
  return out
}

export function decodeWalPayload(payload: Uint8Array): { requestId: bigint; writeRequestSnappy: Uint8Array } {
  if (payload.length < HEADER_BYTES || payload[0] !== WAL_PAYLOAD_VERSION) {
    throw new Error(`WAL record payload of ${payload.length} bytes has unknown version ${payload[0]}`)
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  return { requestId: view.getBigUint64(1, true), writeRequestSnappy: payload.subarray(HEADER_BYTES) }
}
