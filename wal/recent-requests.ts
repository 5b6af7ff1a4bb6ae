/**
 * Request ids (hashes of request bodies) made durable recently, so that a sender's retry of
 * a request whose answer was lost (timeout, or a crash after the fsync) is acknowledged
 * without storing its samples again. Prometheus and vmagent resend the very same bytes on
 * retry. Bounded FIFO; rebuilt on start from the records still in the log.
 */
export class RecentRequests {
  // id -> settles when that request's record is durable (rejects if the append failed).
  private readonly ids = new Map<bigint, Promise<void>>()

  constructor(private readonly maxIds = 200_000) {}

  /** The append in progress or done for this id, if any. */
  get(id: bigint): Promise<void> | undefined {
    return this.ids.get(id)
  }

  add(id: bigint, durable: Promise<void>): void {
    this.ids.set(id, durable)
    durable.catch(() => {
      if (this.ids.get(id) === durable) this.ids.delete(id)
    })
    if (this.ids.size > this.maxIds) this.ids.delete(this.ids.keys().next().value as bigint)
  }

  get size(): number {
    return this.ids.size
  }
}
