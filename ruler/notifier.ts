/**
 * Sends alerts to every configured Alertmanager (POST /api/v2/alerts), as Prometheus's
 * notifier does: external labels added (an alert's own label wins), batches of at most
 * `maxBatchSize`, a timeout per request, a bounded queue that drops the oldest alerts when full.
 * Each Alertmanager has its own queue and sender, so one that is down or slow delays only
 * itself; evaluation never waits for a send. Differences from Prometheus: a failed POST is
 * retried `retries` times with backoff (Prometheus relies on the next resend alone).
 */
import type { Logger } from '../observability/logger.js'
import type { RulerMetrics } from './metrics.js'
import type { PostableAlert } from './types.js'

export interface NotifierOptions {
  /** Base URLs, e.g. http://alertmanager:9093 (a path prefix is kept). */
  alertmanagers: readonly string[]
  externalLabels?: Record<string, string>
  timeoutMs?: number
  maxBatchSize?: number
  queueCapacity?: number
  retries?: number
  retryBackoffMs?: number
  metrics: RulerMetrics
  logger: Logger
  fetch?: typeof fetch
}

class AlertmanagerQueue {
  private queue: PostableAlert[] = []
  private running = false
  private idle: Promise<void> = Promise.resolve()
  private stopped = false
  private readonly controller = new AbortController()

  constructor(
    readonly url: string,
    private readonly opts: Required<Omit<NotifierOptions, 'alertmanagers' | 'externalLabels' | 'fetch'>> & { fetch: typeof fetch },
  ) {}

  get length(): number {
    return this.queue.length
  }

  push(alerts: readonly PostableAlert[]): void {
    if (this.stopped) return
    this.queue.push(...alerts)
    const over = this.queue.length - this.opts.queueCapacity
    if (over > 0) {
      this.queue.splice(0, over)
      this.opts.metrics.notificationsDropped.inc({ alertmanager: this.url }, over)
      this.opts.logger.warn('alert queue full, oldest alerts dropped', { alertmanager: this.url, dropped: over })
    }
    this.opts.metrics.notifierQueueLength.set({ alertmanager: this.url }, this.queue.length)
    if (!this.running) {
      this.running = true
      this.idle = this.drain().finally(() => {
        this.running = false
      })
    }
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const batch = this.queue.splice(0, this.opts.maxBatchSize)
      this.opts.metrics.notifierQueueLength.set({ alertmanager: this.url }, this.queue.length)
      await this.post(batch)
    }
  }

  private async post(batch: PostableAlert[]): Promise<void> {
    const body = JSON.stringify(batch)
    for (let attempt = 0; attempt <= this.opts.retries && !this.stopped; attempt++) {
      if (attempt > 0) await sleep(this.opts.retryBackoffMs * 2 ** (attempt - 1), this.controller.signal)
      const end = this.opts.metrics.notifierLatency.startTimer({ alertmanager: this.url })
      try {
        const res = await this.opts.fetch(`${this.url.replace(/\/$/, '')}/api/v2/alerts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(this.opts.timeoutMs), this.controller.signal]),
        })
        await res.arrayBuffer().catch(() => undefined)
        if (res.ok) {
          this.opts.metrics.notificationsSent.inc({ alertmanager: this.url }, batch.length)
          return
        }
        this.opts.logger.warn('Alertmanager refused alerts', { alertmanager: this.url, status: res.status, attempt })
        // 4xx: the payload is wrong; sending it again will not help.
        if (res.status >= 400 && res.status < 500) break
      } catch (err) {
        this.opts.logger.warn('sending alerts failed', { alertmanager: this.url, err: (err as Error).message, attempt })
      } finally {
        end()
      }
    }
    this.opts.metrics.notificationErrors.inc({ alertmanager: this.url }, batch.length)
  }

  async stop(drainMs: number): Promise<void> {
    await Promise.race([this.idle, sleep(drainMs)])
    this.stopped = true
    this.controller.abort()
    await this.idle.catch(() => undefined)
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(t)
      resolve()
    })
  })
}

export class Notifier {
  private readonly queues: AlertmanagerQueue[]
  private readonly externalLabels: Record<string, string>

  constructor(opts: NotifierOptions) {
    this.externalLabels = opts.externalLabels ?? {}
    const resolved = {
      timeoutMs: opts.timeoutMs ?? 10_000,
      maxBatchSize: opts.maxBatchSize ?? 256,
      queueCapacity: opts.queueCapacity ?? 10_000,
      retries: opts.retries ?? 2,
      retryBackoffMs: opts.retryBackoffMs ?? 500,
      metrics: opts.metrics,
      logger: opts.logger,
      fetch: opts.fetch ?? fetch,
    }
    this.queues = opts.alertmanagers.map((url) => new AlertmanagerQueue(url, resolved))
  }

  get alertmanagers(): string[] {
    return this.queues.map((q) => q.url)
  }

  /** Enqueues for every Alertmanager; returns at once. */
  send(alerts: readonly PostableAlert[]): void {
    if (alerts.length === 0) return
    const withExternal = alerts.map((a) => ({ ...a, labels: { ...this.externalLabels, ...a.labels } }))
    for (const q of this.queues) q.push(withExternal)
  }

  /** Gives queued alerts up to `drainMs` to go out, then stops. */
  async stop(drainMs = 2_000): Promise<void> {
    await Promise.all(this.queues.map((q) => q.stop(drainMs)))
  }
}
