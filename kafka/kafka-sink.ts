/**
 * The scale-out Sink: each accepted request becomes one message per partition it touches
 * (series sharded by fingerprint, kafka/partitioner.ts), produced with acks=all by an
 * idempotent producer. `write` resolves once Kafka acknowledged every message of the
 * request, so the receiver answers 2xx only then; any failure is a KafkaUnavailableError
 * (503 + Retry-After at the HTTP edge) and the sender retries from its own WAL.
 *
 * Requests that arrive while a produce call is in flight wait and go out together in the
 * next one (group commit, as the WAL does with fsync): kafkajs's idempotent producer allows
 * one request in flight per broker, so without this each HTTP request would pay a full
 * broker round trip of its own.
 *
 * A failed send retires the producer: kafkajs's idempotent producer advances its sequence
 * numbers for a batch the broker never appended (seen here when the broker restarted under
 * load: every later send failed with OutOfOrderSequenceNumber, for ever). A fresh producer
 * has a fresh producer id and sequence; the failed request was answered 503 and the sender
 * retries it, and a copy the broker did append is dropped downstream by its request id.
 */
import type { Producer } from 'kafkajs'
import type { AcceptedBatch, Sink } from '../adapter/sink.js'
import { ServiceUnavailableError } from '../errors/http-errors.js'
import type { Logger } from '../observability/logger.js'
import type { SnappyCodec } from '../proto/snappy.js'
import { encodeRequestMessages, type OutMessage, type PartitionKey } from './message-encoder.js'
import type { ProducerMetrics } from './metrics.js'

/** Kafka did not acknowledge a request: the sender should retry. */
export class KafkaUnavailableError extends ServiceUnavailableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 2, options)
  }
}

export interface KafkaSinkOptions {
  /** Makes an idempotent producer (not yet connected); called again after a failed send. */
  createProducer: () => Producer
  topic: string
  /** Current partition count of the topic (refreshed by the caller). */
  partitions: () => number
  snappy: SnappyCodec
  metrics: ProducerMetrics
  logger: Logger
  /** Longest wait for the acknowledgement before the request is refused with 503. */
  produceTimeoutMs: number
  /** What series are partitioned by (default: their fingerprint). */
  partitionKey?: PartitionKey
}

interface Waiter {
  messages: OutMessage[]
  resolve: () => void
  reject: (err: Error) => void
}

export class KafkaSink implements Sink {
  private queue: Waiter[] = []
  private sending = false
  private closed = false
  private producer: Producer | undefined
  private producerConnecting: Promise<Producer> | undefined

  constructor(private readonly opts: KafkaSinkOptions) {}

  async write(batch: AcceptedBatch): Promise<void> {
    if (this.closed) throw new KafkaUnavailableError('the Kafka producer is closed')
    const partitions = this.opts.partitions()
    if (partitions < 1) throw new KafkaUnavailableError(`topic ${this.opts.topic} has no partitions (yet)`)
    const messages = encodeRequestMessages(batch, partitions, this.opts.snappy, this.opts.partitionKey)
    const started = performance.now()
    let timer: NodeJS.Timeout | undefined
    const acked = new Promise<void>((resolve, reject) => {
      this.queue.push({ messages, resolve, reject })
      this.pump()
    })
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KafkaUnavailableError(`Kafka did not acknowledge within ${this.opts.produceTimeoutMs} ms`)), this.opts.produceTimeoutMs)
    })
    try {
      await Promise.race([acked, timeout])
    } catch (err) {
      this.opts.metrics.errors.inc({ reason: /acknowledge within/.test((err as Error).message) ? 'timeout' : 'kafka_error' })
      // The send may still complete after a timeout; its late copy is dropped by the
      // ingester through the request header if the sender's retry also lands.
      acked.catch(() => {})
      throw err
    } finally {
      clearTimeout(timer)
    }
    this.opts.metrics.duration.observe((performance.now() - started) / 1000)
    for (const m of messages) {
      const partition = String(m.partition)
      this.opts.metrics.messages.inc({ partition })
      this.opts.metrics.bytes.inc({ partition }, m.value.length)
    }
  }

  private pump(): void {
    if (this.sending || this.queue.length === 0) return
    const waiters = this.queue
    this.queue = []
    this.sending = true
    const messages: OutMessage[] = []
    for (const w of waiters) for (const m of w.messages) messages.push(m)
    this.opts.metrics.sends.observe(messages.length)
    this.connectedProducer()
      .then((producer) =>
        producer.send({ topic: this.opts.topic, acks: -1, messages }).catch((err: unknown) => {
          this.retire(producer)
          throw err
        }),
      )
      .then(
        () => {
          for (const w of waiters) w.resolve()
        },
        (err: unknown) => {
          const e = new KafkaUnavailableError(`Kafka did not acknowledge the request: ${String((err as Error)?.message ?? err).slice(0, 200)}`, { cause: err })
          this.opts.logger.warn('produce failed', { err: e.message, messages: messages.length })
          for (const w of waiters) w.reject(e)
        },
      )
      .finally(() => {
        this.sending = false
        this.pump()
      })
  }

  /** Connects the current producer, or a new one after a failed send; also used at start to fail fast. */
  connectedProducer(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer)
    this.producerConnecting ??= (async () => {
      const producer = this.opts.createProducer()
      try {
        await producer.connect()
      } finally {
        this.producerConnecting = undefined
      }
      this.producer = producer
      return producer
    })()
    return this.producerConnecting
  }

  private retire(producer: Producer): void {
    if (this.producer !== producer) return
    this.producer = undefined
    this.opts.metrics.producerRenewals.inc()
    producer.disconnect().catch((err: unknown) => this.opts.logger.debug('disconnecting a retired producer failed', { err: String(err) }))
  }

  async close(): Promise<void> {
    this.closed = true
    // Let in-flight and queued requests finish before the producer goes.
    while (this.sending || this.queue.length > 0) await new Promise((r) => setTimeout(r, 10))
    await this.producer?.disconnect()
    this.producer = undefined
  }
}
