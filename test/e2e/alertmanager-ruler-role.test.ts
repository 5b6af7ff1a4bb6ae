/**
 * The scale-out ruler as deployed: `metrichouse ruler` reads a ClickHouse server (the
 * `store` role), writes ALERTS and recording results to the samples topic, which the
 * ingester lands in ClickHouse, publishes alert events to their own topic, and sends alerts
 * to Debian's Alertmanager 0.25. Data arrives by remote write at an `adapter`. Every part is
 * a real process (dist/cli/main.js, a KRaft broker, prometheus-alertmanager).
 */
import { Kafka, logLevel } from 'kafkajs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSnappyCodec } from '../../proto/snappy.js'
import { encodeRw1 } from '../integration/wire.js'
import { Alertmanager } from '../peers/alertmanager.js'
import { freePort } from '../peers/free-port.js'
import { KafkaStack, STORE_PASSWORD, STORE_USER } from '../peers/kafka-stack.js'
import { CLI_MAIN, REPO_ROOT } from '../peers/metrichouse.js'
import { HttpSink } from '../peers/notification-sinks.js'
import { pollUntil, spawnPeer, waitForHttp, type PeerProcess } from '../peers/process.js'

const RULES = `groups:
  - name: targets
    interval: 1s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: TargetDown
        expr: up == 0
        labels:
          severity: critical
        annotations:
          summary: '{{ $labels.instance }} of {{ $labels.job }} is down'
`

describe('metrichouse ruler (scale-out) with Kafka, a ClickHouse server and Alertmanager', () => {
  let stack: KafkaStack
  let webhook: HttpSink
  let alertmanager: Alertmanager
  let ruler: PeerProcess
  let rulerUrl: string
  let adapterUrl: string
  const snappy = createSnappyCodec()

  beforeAll(async () => {
    stack = await KafkaStack.start({ partitions: 2 })
    adapterUrl = (await stack.addAdapter()).url
    await stack.addIngester()
    webhook = await HttpSink.start(200)
    alertmanager = await Alertmanager.start(
      `route: {receiver: hook, group_by: [alertname], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}\nreceivers:\n  - name: hook\n    webhook_configs: [{url: '${webhook.url}/alerts', send_resolved: true}]\n`,
    )
    const rulesFile = join(stack.dir.path, 'rules.yml')
    await writeFile(rulesFile, RULES)
    const port = await freePort()
    rulerUrl = `http://127.0.0.1:${port}`
    ruler = spawnPeer({
      name: 'ruler',
      command: process.execPath,
      args: [
        CLI_MAIN, 'ruler', '--listen', `127.0.0.1:${port}`,
        '--clickhouse-url', `${stack.store.url}/clickhouse`, '--clickhouse-username', STORE_USER, '--clickhouse-password', STORE_PASSWORD,
        '--kafka-brokers', stack.broker.brokers, '--kafka-topic', stack.topic,
        '--ruler-rule-files', rulesFile, '--ruler-alertmanager-urls', alertmanager.url,
        '--ruler-external-labels', 'replica=r1', '--ruler-alert-events-topic', 'alert-events',
      ],
      logFile: join(stack.dir.path, 'ruler.log'),
      maxLifetimeMs: 170_000,
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH },
    })
    await waitForHttp(`${rulerUrl}/-/ready`, 60_000, { peer: ruler })
  }, 150_000)

  afterAll(async () => {
    await ruler?.stop(10_000).catch(() => undefined)
    await alertmanager?.stop()
    await webhook?.stop()
    await stack?.dispose()
  })

  async function pushUp(value: number): Promise<void> {
    const body = encodeRw1([{ labels: [['__name__', 'up'], ['instance', 'db-1:9100'], ['job', 'db']], samples: [{ timestampMs: Date.now(), value }] }])
    const res = await fetch(`${adapterUrl}/api/v1/write`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
      body: Buffer.from((await snappy).compress(body)),
    })
    expect(res.status).toBe(204)
  }

  it('fires from remote-written data, writes its results through Kafka into ClickHouse, publishes events, and resolves', async () => {
    const alerts = () => webhook.received.flatMap((r) => (r.body as { alerts?: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[] }).alerts ?? [])
    const describe = () => `${ruler.describe()}\n${stack.describe()}\n${alertmanager.describe()}`
    const feed = setInterval(() => void pushUp(0).catch(() => undefined), 1_000)
    try {
      await pushUp(0)
      await pollUntil('the firing alert at the webhook', 60_000, async () => alerts().find((a) => a.status === 'firing'), describe)
    } finally {
      clearInterval(feed)
    }
    expect(alerts().find((a) => a.status === 'firing')!.labels).toEqual({ alertname: 'TargetDown', instance: 'db-1:9100', job: 'db', replica: 'r1', severity: 'critical' })
    expect(alerts()[0]!.annotations.summary).toBe('db-1:9100 of db is down')

    // The ruler's own writes went ruler -> Kafka -> ingester -> ClickHouse.
    await pollUntil('recording rule output in ClickHouse', 60_000, async () => ((await stack.queryNumber(`SELECT count() FROM samples WHERE metric_name = 'job:up:sum'`)) > 0 ? true : undefined), describe)
    await pollUntil('ALERTS in ClickHouse', 60_000, async () => ((await stack.queryNumber(`SELECT count() FROM samples WHERE metric_name = 'ALERTS'`)) > 0 ? true : undefined), describe)
    const api = (await (await fetch(`${rulerUrl}/api/v1/alerts`)).json()) as { data: { alerts: { state: string }[] } }
    expect(api.data.alerts.map((a) => a.state)).toEqual(['firing'])

    // The alert-event stream holds the change to firing.
    const kafka = new Kafka({ brokers: [stack.broker.brokers], clientId: 'ruler-role-test', logLevel: logLevel.NOTHING })
    const consumer = kafka.consumer({ groupId: `ruler-role-test-${Date.now()}` })
    await consumer.connect()
    await consumer.subscribe({ topic: 'alert-events', fromBeginning: true })
    const events: { to: string; labels: Record<string, string> }[] = []
    await consumer.run({ eachMessage: async ({ message }) => void events.push(JSON.parse(message.value!.toString())) })
    await pollUntil('an alert event', 30_000, async () => (events.some((e) => e.to === 'firing') ? true : undefined))
    await consumer.disconnect()
    expect(events.find((e) => e.to === 'firing')!.labels).toMatchObject({ alertname: 'TargetDown', replica: 'r1' })

    const feed2 = setInterval(() => void pushUp(1).catch(() => undefined), 1_000)
    try {
      await pushUp(1)
      await pollUntil('the resolve at the webhook', 60_000, async () => alerts().find((a) => a.status === 'resolved'), describe)
    } finally {
      clearInterval(feed2)
    }
  }, 150_000)
})
