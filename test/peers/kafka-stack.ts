/**
 * The scale-out deployment for integration tests, every part real: a KRaft broker, a
 * `metrichouse store` owning the embedded ClickHouse, adapters and ingesters as separate
 * processes, and a remote-write load sender that retries like Prometheus and counts what
 * was acknowledged.
 */
import { cp } from 'node:fs/promises'
import { join } from 'node:path'
import { createClient } from '@clickhouse/client'
import { encodeWriteRequestV1 } from '../../proto/encode-v1.js'
import { refreshRollupsNow } from '../../rollup/refresh.js'
import type { SnappyCodec } from '../../proto/snappy.js'
import { KafkaBroker } from './kafka.js'
import { MetrichouseRole } from './metrichouse-role.js'
import { makeTempDir, type TempDir } from './temp-dir.js'

export const STORE_USER = 'internal'
export const STORE_PASSWORD = 'store-secret'

export class KafkaStack {
  readonly adapters: MetrichouseRole[] = []
  readonly ingesters: MetrichouseRole[] = []

  private constructor(
    readonly dir: TempDir,
    readonly broker: KafkaBroker,
    readonly store: MetrichouseRole,
    readonly topic: string,
    readonly partitions: number,
  ) {}

  static async start(options: { partitions?: number; topic?: string } = {}): Promise<KafkaStack> {
    const dir = await makeTempDir('kafka-stack')
    const [brokerStart, storeStart] = await Promise.allSettled([
      KafkaBroker.start(),
      MetrichouseRole.start({
        role: 'store',
        args: ['--data-dir', join(dir.path, 'store'), '--auth-basic-username', STORE_USER, '--auth-basic-password', STORE_PASSWORD],
        logDir: dir.path,
        authorization: `Basic ${Buffer.from(`${STORE_USER}:${STORE_PASSWORD}`).toString('base64')}`,
      }),
    ])
    if (brokerStart.status === 'rejected' || storeStart.status === 'rejected') {
      if (brokerStart.status === 'fulfilled') await brokerStart.value.dispose()
      if (storeStart.status === 'fulfilled') await storeStart.value.dispose()
      await dir.remove()
      throw brokerStart.status === 'rejected' ? brokerStart.reason : (storeStart as PromiseRejectedResult).reason
    }
    return new KafkaStack(dir, brokerStart.value, storeStart.value, options.topic ?? 'samples', options.partitions ?? 6)
  }

  private kafkaArgs(): string[] {
    return ['--kafka-brokers', this.broker.brokers, '--kafka-topic', this.topic, '--kafka-partitions', String(this.partitions)]
  }

  async addAdapter(extra: string[] = [], nodeArgs: string[] = []): Promise<MetrichouseRole> {
    const n = this.adapters.length + 1
    const adapter = await MetrichouseRole.start({ role: 'adapter', name: `adapter-${n}`, args: [...this.kafkaArgs(), '--kafka-produce-timeout', '5s', ...extra], logDir: this.dir.path, nodeArgs })
    this.adapters.push(adapter)
    return adapter
  }

  async addIngester(extra: string[] = [], nodeArgs: string[] = []): Promise<MetrichouseRole> {
    const n = this.ingesters.length + 1
    const ingester = await MetrichouseRole.start({
      role: 'ingester',
      name: `ingester-${n}`,
      args: [
        ...this.kafkaArgs(),
        '--clickhouse-url', `${this.store.url}/clickhouse`,
        '--clickhouse-username', STORE_USER,
        '--clickhouse-password', STORE_PASSWORD,
        '--kafka-batch-wait', '200ms',
        // The broker's minimum: a killed member's partitions move on within seconds.
        '--kafka-session-timeout', '6s',
        '--data-dir', join(this.dir.path, `ingester-${n}`),
        ...extra,
      ],
      logDir: this.dir.path,
      nodeArgs,
    })
    this.ingesters.push(ingester)
    return ingester
  }

  /** SQL against the store, TabSeparated, final newline removed. */
  async query(sql: string): Promise<string> {
    const r = await fetch(`${this.store.url}/clickhouse/?${new URLSearchParams({ query: sql })}`, {
      headers: { authorization: `Basic ${Buffer.from(`${STORE_USER}:${STORE_PASSWORD}`).toString('base64')}` },
      signal: AbortSignal.timeout(30_000),
    })
    const text = await r.text()
    if (r.status !== 200) throw new Error(`store ${r.status} for ${sql}: ${text.slice(0, 300)}`)
    return text.replace(/\n$/, '')
  }

  async queryNumber(sql: string): Promise<number> {
    return Number((await this.query(sql)).trim())
  }

  /** Whether a table exists in the store (the rollup tiers, once built). */
  async tableExists(name: string): Promise<boolean> {
    return (await this.queryNumber(`SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = '${name.replace(/[^A-Za-z0-9_]/g, '')}'`)) === 1
  }

  /**
   * Samples of `metric` in every tier: raw count, and once the rollup tables exist the sum
   * of their per-bucket counts after a refresh (rollup/refresh.ts, through the store).
   */
  async tierCounts(metric: string): Promise<Record<string, number>> {
    const name = metric.replace(/[^A-Za-z0-9_:]/g, '')
    const counts: Record<string, number> = { raw: await this.queryNumber(`SELECT count() FROM samples WHERE metric_name = '${name}'`) }
    const tiers = [
      ['1m', 'samples_1m'],
      ['1h', 'samples_1h'],
    ]
    const present: string[][] = []
    for (const t of tiers) if (await this.tableExists(t[1])) present.push(t)
    if (present.length === 0) return counts
    const client = createClient({ url: this.store.url, pathname: '/clickhouse', username: STORE_USER, password: STORE_PASSWORD, request_timeout: 120_000 })
    try {
      await refreshRollupsNow(client, 1)
    } finally {
      await client.close()
    }
    for (const [tier, table] of present) counts[tier] = await this.queryNumber(`SELECT sum(count) FROM ${table} FINAL WHERE metric_name = '${name}'`)
    return counts
  }

  describe(): string {
    return [this.broker.logTail(15), ...[...this.adapters, ...this.ingesters, this.store].map((r) => `--- ${r.process.name}\n${r.logTail(15)}`)].join('\n')
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.adapters, ...this.ingesters].map((r) => r.dispose()))
    await Promise.all([this.store.dispose(), this.broker.dispose()])
    // For a post-mortem of a slow or failed run: METRICHOUSE_KEEP_LOGS=dir keeps the role logs.
    const keep = process.env.METRICHOUSE_KEEP_LOGS
    if (keep) await cp(this.dir.path, keep, { recursive: true, filter: (src) => !src.includes('/store/') })
    await this.dir.remove()
  }
}

/**
 * Steady remote-write load: `concurrency` loops, each request a fresh number k with
 * `seriesPerRequest` series (one sample each, value k, timestamp t0 + k s), sent to the
 * adapters in turn and retried until one answers 204, as Prometheus retries 5xx.
 */
export class LoadSender {
  acknowledgedRequests = 0
  refusals = new Map<number, number>()
  private next = 0
  private running = false
  private loops: Promise<void>[] = []

  constructor(
    private readonly snappy: SnappyCodec,
    private readonly urls: () => string[],
    readonly metric: string,
    readonly seriesPerRequest = 40,
    /**
     * Samples go into the hour this many hours back, long closed (the rollup tiers compute
     * closed hours only); a sender of its own hour keeps each rollup refresh small.
     */
    hoursBack = 3,
  ) {
    this.t0 = Math.floor((Date.now() - hoursBack * 3_600_000) / 3_600_000) * 3_600_000 + 60_000
  }

  private readonly t0: number

  get acknowledgedSamples(): number {
    return this.acknowledgedRequests * this.seriesPerRequest
  }

  body(k: number): Buffer {
    const series = []
    for (let s = 0; s < this.seriesPerRequest; s++) {
      series.push({
        labels: [
          { name: '__name__', value: this.metric },
          { name: 'instance', value: `host-${s}` },
          { name: 'job', value: 'load' },
        ],
        // One second apart: a series' samples spread as a scrape's would, not thousands per minute.
        samples: [{ timestampMs: this.t0 + k * 1000, value: k }],
      })
    }
    return Buffer.from(this.snappy.compress(encodeWriteRequestV1(series)))
  }

  start(concurrency = 4): void {
    this.running = true
    for (let i = 0; i < concurrency; i++) this.loops.push(this.loop(i))
  }

  /** Stops taking new request numbers; resolves once every started request was acknowledged. */
  async stop(): Promise<void> {
    this.running = false
    await Promise.all(this.loops)
    this.loops = []
  }

  private async loop(i: number): Promise<void> {
    let attempt = i
    while (this.running) {
      const k = this.next++
      const body = this.body(k)
      for (;;) {
        const urls = this.urls()
        const url = urls[attempt++ % urls.length]
        const status = await this.post(url, body)
        if (status === 204) break
        this.refusals.set(status, (this.refusals.get(status) ?? 0) + 1)
        await new Promise((r) => setTimeout(r, 200))
      }
      this.acknowledgedRequests++
    }
  }

  private async post(url: string, body: Buffer): Promise<number> {
    try {
      const r = await fetch(url, {
        method: 'POST',
        body: new Uint8Array(body),
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
        signal: AbortSignal.timeout(15_000),
      })
      await r.arrayBuffer()
      return r.status
    } catch {
      return 0 // refused or reset: not acknowledged
    }
  }
}
