/**
 * Kafka -> ClickHouse, exactly once. A consumer group reads the samples topic; each
 * partition's messages are landed in offset ranges:
 *   1. the range [from, to] is recorded durably (kafka/range-log.ts),
 *   2. its messages are inserted with the token `<topic>:<partition>:<from>-<to>`
 *      (series rows first, through the BatchLander the WAL flusher uses too),
 *   3. offset to+1 is committed to the group.
 * A consumer that gets a partition (at start, after a crash or a rebalance) reads the last
 * recorded range; when it starts at the committed offset it was not committed, so exactly
 * that range is rebuilt from Kafka and inserted again with the same token: ClickHouse
 * drops it if the earlier attempt landed. A ClickHouse error holds the partition (its
 * other partitions go on) and retries the same range with exponential backoff, heart-
 * beating meanwhile; a stop or a rebalance abandons it uncommitted for the next owner.
 */
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs'
import type { BatchLander } from '../ingester/batch-lander.js'
import type { RecordDecoder } from '../ingester/record-decoder.js'
import type { Logger } from '../observability/logger.js'
import type { SeriesSamples } from '../store/rowbinary-encoder.js'
import { readMessageHeaders } from './message-format.js'
import type { ConsumerMetrics } from './metrics.js'
import type { OffsetRange, RangeLog } from './range-log.js'

export interface KafkaIngesterOptions {
  consumer: Consumer
  topic: string
  rangeLog: RangeLog
  lander: BatchLander
  decoder: RecordDecoder
  metrics: ConsumerMetrics
  logger: Logger
  partitionsConsumedConcurrently: number
  /** Upper bound of the backoff between attempts at a failing insert. */
  maxBackoffMs?: number
  /** Request ids remembered per partition to drop sender retries (default 100k). */
  requestMemory?: number
  /** Called when the consumer crashed and kafkajs will not restart it (the process should exit). */
  onFatal?: (err: Error) => void
}

interface PartitionState {
  /** The recorded range has been looked up since this consumer got the partition. */
  checked: boolean
  /** A recorded, uncommitted range being rebuilt: its messages so far. */
  replay?: { range: OffsetRange; messages: KafkaMessage[] }
  /** Request ids of committed messages, oldest first (bounded). */
  requests: Set<string>
}

/** The batch was given up (stop or rebalance): nothing committed, the next owner redoes it. */
class AbandonedError extends Error {
  override name = 'AbandonedError'
}

export class KafkaIngester {
  private readonly states = new Map<number, PartitionState>()
  private readonly maxBackoffMs: number
  private readonly requestMemory: number
  private member = false

  constructor(private readonly opts: KafkaIngesterOptions) {
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000
    this.requestMemory = opts.requestMemory ?? 100_000
  }

  /**
   * True while this consumer is a member of its group with an assignment: from a group join
   * until a rebalance, a crash or a stop. `consumer.run()` returns before the join (which
   * takes seconds on a fresh group), so readiness waits for this.
   */
  get inGroup(): boolean {
    return this.member
  }

  async start(): Promise<void> {
    const { consumer } = this.opts
    const leave = (): void => {
      this.member = false
      this.opts.metrics.groupMember.set(0)
    }
    consumer.on(consumer.events.REBALANCING, leave)
    consumer.on(consumer.events.STOP, leave)
    consumer.on(consumer.events.DISCONNECT, leave)
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.member = true
      this.opts.metrics.groupMember.set(1)
      // New generation: partitions may have moved; what was read but not committed is
      // read again from the committed offsets, and recorded ranges are looked up anew.
      this.states.clear()
      this.opts.metrics.rebalances.inc()
      this.opts.logger.info('joined the consumer group', { assignment: e.payload.memberAssignment, memberId: e.payload.memberId })
    })
    consumer.on(consumer.events.CRASH, (e) => {
      leave()
      if (e.payload.restart) {
        this.opts.logger.warn('the consumer crashed and restarts', { err: e.payload.error })
        return
      }
      this.opts.logger.error('the consumer crashed and will not restart', { err: e.payload.error })
      this.opts.onFatal?.(e.payload.error)
    })
    await consumer.connect()
    await consumer.subscribe({ topics: [this.opts.topic], fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.onBatch(payload),
    })
  }

  /** Leaves the group after the batches in progress finished or were abandoned. */
  async stop(): Promise<void> {
    await this.opts.consumer.stop()
    await this.opts.consumer.disconnect()
  }

  private state(partition: number): PartitionState {
    let s = this.states.get(partition)
    if (!s) {
      s = { checked: false, requests: new Set() }
      this.states.set(partition, s)
    }
    return s
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload
    if (batch.messages.length === 0) return
    const state = this.state(batch.partition)
    try {
      let messages = batch.messages
      if (!state.checked) {
        const recorded = await this.withBackoff(payload, 'read the recorded range', () => this.opts.rangeLog.last(this.opts.topic, batch.partition))
        const first = BigInt(messages[0].offset)
        // Only a range that starts exactly where this fetch starts (the committed offset)
        // is an uncommitted batch; anything else is history.
        if (recorded && recorded.from === first && recorded.to >= first) {
          state.replay = { range: recorded, messages: [] }
          this.opts.logger.info('rebuilding a recorded, uncommitted range', { topic: this.opts.topic, partition: batch.partition, from: recorded.from, to: recorded.to })
        }
        state.checked = true
      }
      if (state.replay) {
        const { range } = state.replay
        let k = 0
        while (k < messages.length && BigInt(messages[k].offset) <= range.to) state.replay.messages.push(messages[k++])
        if (k < messages.length || BigInt(messages[messages.length - 1].offset) >= range.to) {
          await this.land(payload, range, state.replay.messages, true)
          state.replay = undefined
        } else {
          payload.resolveOffset(messages[messages.length - 1].offset) // keep fetching the range
          return
        }
        messages = messages.slice(k)
        if (messages.length === 0) return
      }
      const range = { from: BigInt(messages[0].offset), to: BigInt(messages[messages.length - 1].offset) }
      await this.withBackoff(payload, 'record the range', () => this.opts.rangeLog.record(this.opts.topic, batch.partition, range))
      await this.land(payload, range, messages, false)
    } catch (err) {
      if (err instanceof AbandonedError) {
        this.states.delete(batch.partition)
        this.opts.logger.info('batch abandoned uncommitted', { partition: batch.partition, reason: err.message })
        return
      }
      // E.g. the commit was refused because the group moved on without this member. The
      // range stays recorded, so whoever reads the partition next redoes it; marked
      // retriable, kafkajs restarts the consumer (a new generation) instead of dying.
      this.states.delete(batch.partition)
      throw Object.assign(new Error(`partition ${batch.partition}: ${(err as Error).message}`, { cause: err }), { retriable: true })
    }
  }

  private async land(payload: EachBatchPayload, range: OffsetRange, messages: KafkaMessage[], replay: boolean): Promise<void> {
    const { batch } = payload
    const state = this.state(batch.partition)
    const series: SeriesSamples[] = []
    const seen = new Set<string>()
    let duplicates = 0
    for (const m of messages) {
      let requestId: string | undefined
      try {
        requestId = readMessageHeaders(m.headers).requestId
        if (requestId !== undefined && (state.requests.has(requestId) || seen.has(requestId))) {
          duplicates++
          continue
        }
        if (m.value) this.opts.decoder.decode(m.value, series)
        if (requestId !== undefined) seen.add(requestId)
      } catch (err) {
        // Not ours, or corrupt: a poison message must not stop the partition forever.
        this.opts.metrics.undecodable.inc()
        this.opts.logger.error('skipping an undecodable message', { partition: batch.partition, offset: m.offset, err })
      }
    }
    const token = `${this.opts.topic}:${batch.partition}:${range.from}-${range.to}`
    const started = performance.now()
    const landed = await this.withBackoff(payload, `insert ${token}`, () => this.whileHeartbeating(payload, () => this.opts.lander.land(series, token, { stream: `${this.opts.topic}:${batch.partition}`, from: range.from.toString(), to: (range.to + 1n).toString() })))
    this.opts.metrics.insertDuration.observe((performance.now() - started) / 1000)
    const next = (range.to + 1n).toString()
    await this.opts.consumer.commitOffsets([{ topic: this.opts.topic, partition: batch.partition, offset: next }])
    payload.resolveOffset(range.to.toString())
    for (const id of seen) {
      state.requests.add(id)
      if (state.requests.size > this.requestMemory) state.requests.delete(state.requests.values().next().value as string)
    }
    const partition = String(batch.partition)
    this.opts.metrics.batches.inc({ partition })
    this.opts.metrics.samples.inc(landed.samples)
    this.opts.metrics.seriesRows.inc(landed.seriesRows)
    this.opts.metrics.batchSamples.observe(landed.samples)
    this.opts.metrics.batchMessages.observe(messages.length)
    if (duplicates > 0) this.opts.metrics.duplicateMessages.inc(duplicates)
    if (replay) this.opts.metrics.replayedBatches.inc()
    const lag = BigInt(batch.highWatermark) - (range.to + 1n)
    this.opts.metrics.lag.set({ partition }, Number(lag > 0n ? lag : 0n))
  }

  /**
   * kafkajs heartbeats only between batches or when asked: a long insert (a big batch on a
   * busy ClickHouse) would outlast the session and get the member dropped from the group.
   */
  private async whileHeartbeating<T>(payload: EachBatchPayload, fn: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => {
      payload.heartbeat().catch(() => {
        /* a rebalance: the commit after the insert finds out and the range is redone */
      })
    }, 1000)
    try {
      return await fn()
    } finally {
      clearInterval(timer)
    }
  }

  /** Runs `fn` until it succeeds, backing off and heart-beating; gives up on stop or rebalance. */
  private async withBackoff<T>(payload: EachBatchPayload, what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (!payload.isRunning() || payload.isStale()) throw new AbandonedError(payload.isRunning() ? 'partition reassigned' : 'consumer stopping')
      try {
        return await fn()
      } catch (err) {
        this.opts.metrics.insertErrors.inc()
        const backoff = Math.min(this.maxBackoffMs, 100 * 2 ** Math.min(attempt, 12))
        this.opts.logger.warn(`could not ${what}; the partition waits and retries`, { partition: payload.batch.partition, err, retryInMs: backoff, attempt: attempt + 1 })
        const until = Date.now() + backoff
        while (Date.now() < until) {
          if (!payload.isRunning()) break
          try {
            await payload.heartbeat()
          } catch (hbErr) {
            throw new AbandonedError(`heartbeat failed: ${(hbErr as Error).message}`)
          }
          await new Promise((r) => setTimeout(r, Math.min(500, Math.max(0, until - Date.now()))))
        }
      }
    }
  }
}
