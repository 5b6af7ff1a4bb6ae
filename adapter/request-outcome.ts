/** How every receiver counts a request that ended in an error, before the HTTP edge answers it. */
import type { ReceiverMetrics } from './metrics.js'

/**
 * Counts the request by status; `wholeRequestReason` (given the status) names why the request
 * was refused as a whole, and is undefined when only some series were (those are counted per
 * sample by reason where they were refused).
 */
export function countFailedRequest(metrics: ReceiverMetrics, protocol: string, err: unknown, wholeRequestReason: ((status: number) => string) | undefined): void {
  const status = (err as { status?: number }).status ?? 500
  metrics.requests.inc({ protocol, code: String(status) })
  if (wholeRequestReason) metrics.requestsRejected.inc({ reason: wholeRequestReason(status) })
}
