/**
 * The samples topic's message format, a public interface (docs/scale-out.md):
 * - value: a snappy-compressed `prometheus.WriteRequest` (remote write 1.0), so any
 *   Prometheus-aware consumer can read the topic;
 * - header `metrichouse-format`: "1" for this layout; consumers refuse versions they do
 *   not know instead of misreading them;
 * - header `metrichouse-request`: xxHash64 (decimal) of the remote-write body the message
 *   came from. A sender retrying after a 503 resends the same bytes, so an ingester can
 *   drop a message whose request it has already stored from that partition;
 * - no key: the adapter picks the partition itself from the series fingerprint.
 */
export const FORMAT_HEADER = 'metrichouse-format'
export const REQUEST_HEADER = 'metrichouse-request'
export const FORMAT_VERSION = '1'

export class UnknownMessageFormatError extends Error {
  override name = 'UnknownMessageFormatError'
}

function headerText(value: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  if (value === undefined) return undefined
  const v = Array.isArray(value) ? value[0] : value
  return v === undefined ? undefined : v.toString()
}

/** The request id of a message, or undefined; throws for a format version this code does not know. */
export function readMessageHeaders(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined): { requestId?: string } {
  const format = headerText(headers?.[FORMAT_HEADER])
  if (format !== FORMAT_VERSION) throw new UnknownMessageFormatError(`message format "${String(format).slice(0, 20)}" is not ${FORMAT_VERSION}`)
  return { requestId: headerText(headers?.[REQUEST_HEADER]) }
}
