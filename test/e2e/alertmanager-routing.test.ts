/**
 * End to end: samples arrive by remote write at `metrichouse serve`, its ruler evaluates the
 * shipped example rules (examples/rules/queues.yml) and sends alerts to Debian's Alertmanager
 * 0.25 running the shipped routing tree (examples/alertmanager.yml). Only addresses and
 * timings are changed for the test: receivers point at local sinks (webhook, an SMTP server,
 * a PagerDuty Events API stand-in). The test asserts each notification arrives where the
 * routing says, that the inhibit rule holds back the warning, and that resolves follow.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import type { RunningServe } from '../../cli/serve.js'
import { serve } from '../../cli/serve.js'
import { loadConfig } from '../../config/load.js'
import { silentLogger } from '../../observability/logger.js'
import { createSnappyCodec } from '../../proto/snappy.js'
import { encodeRw1, type TestSeries } from '../integration/wire.js'
import { Alertmanager, amtoolCheckConfig } from '../peers/alertmanager.js'
import { freePort } from '../peers/free-port.js'
import { REPO_ROOT } from '../peers/metrichouse.js'
import { HttpSink, SmtpSink } from '../peers/notification-sinks.js'
import { pollUntil } from '../peers/process.js'

const SHIPPED_AM = join(REPO_ROOT, 'examples', 'alertmanager.yml')
const SHIPPED_RULES = join(REPO_ROOT, 'examples', 'rules', 'queues.yml')

type Json = Record<string, unknown>

/** The shipped config with local addresses and short timings; the routing tree untouched. */
function testAlertmanagerConfig(webhook: string, pagerduty: string, smtpPort: number): string {
  const cfg = parse(readFileSync(SHIPPED_AM, 'utf8')) as Json
  const global = cfg.global as Json
  global.smtp_smarthost = `127.0.0.1:${smtpPort}`
  global.smtp_require_tls = false
  const route = cfg.route as Json
  Object.assign(route, { group_wait: '1s', group_interval: '1s', repeat_interval: '1h' })
  for (const r of cfg.receivers as Json[]) {
    for (const w of (r.webhook_configs ?? []) as Json[]) w.url = `${webhook}/alerts`
    for (const p of (r.pagerduty_configs ?? []) as Json[]) p.url = `${pagerduty}/v2/enqueue`
  }
  return stringify(cfg)
}

/** The shipped rules with the group interval and `for` cut to seconds. */
function testRules(): string {
  return readFileSync(SHIPPED_RULES, 'utf8').replace('interval: 15s', 'interval: 1s').replaceAll('for: 2m', 'for: 2s')
}

interface WebhookAlert {
  status: string
  labels: Record<string, string>
  annotations: Record<string, string>
}

describe('alerts from ingested data reach the receivers the shipped routing tree names', () => {
  let dir: string
  let webhook: HttpSink
  let pagerduty: HttpSink
  let smtp: SmtpSink
  let alertmanager: Alertmanager
  let metrichouse: RunningServe
  let writeUrl: string
  const snappyPromise = createSnappyCodec()

  async function push(depths: { team: string; queue: string; value: number }[]): Promise<void> {
    const now = Date.now()
    const series: TestSeries[] = depths.map((d) => ({
      labels: [
        ['__name__', 'queue_depth'],
        ['instance', 'broker-1:9100'],
        ['queue', d.queue],
        ['team', d.team],
      ],
      samples: [{ timestampMs: now, value: d.value }],
    }))
    const snappy = await snappyPromise
    const res = await fetch(writeUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
      body: Buffer.from(snappy.compress(encodeRw1(series))),
    })
    expect(res.status).toBe(204)
  }

  const webhookAlerts = (): WebhookAlert[] => webhook.received.flatMap((r) => ((r.body as { alerts?: WebhookAlert[] }).alerts ?? []))
  const pagerdutyEvents = () => pagerduty.received.map((r) => r.body as { routing_key: string; event_action: string; payload?: { summary: string } })
  const describeAll = async () =>
    JSON.stringify({ webhook: webhookAlerts(), pagerduty: pagerdutyEvents(), mails: smtp.received.map((m) => m.to), alertmanager: await alertmanager.alerts().catch(() => 'down') }, null, 1) +
    '\n' +
    alertmanager.describe()

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'metrichouse-am-e2e-'))
    webhook = await HttpSink.start(200)
    pagerduty = await HttpSink.start(202)
    smtp = await SmtpSink.start()
    alertmanager = await Alertmanager.start(testAlertmanagerConfig(webhook.url, pagerduty.url, smtp.port))
    const rulesFile = join(dir, 'queues.yml')
    writeFileSync(rulesFile, testRules())
    const port = await freePort()
    const config = loadConfig({
      flags: {
        listen: `127.0.0.1:${port}`,
        'data-dir': join(dir, 'data'),
        'flush-interval': '100ms',
        'ruler-rule-files': rulesFile,
        'ruler-alertmanager-urls': alertmanager.url,
        'ruler-external-labels': 'cluster=e2e',
        'ruler-resend-delay': '1m',
      },
      env: {},
    })
    metrichouse = await serve(config, silentLogger)
    writeUrl = `http://127.0.0.1:${metrichouse.address.port}/api/v1/write`
  })

  afterAll(async () => {
    await metrichouse?.shutdown()
    await alertmanager?.stop()
    await Promise.all([webhook?.stop(), pagerduty?.stop(), smtp?.stop()])
    rmSync(dir, { recursive: true, force: true })
  })

  it('the shipped Alertmanager config passes amtool check-config', async () => {
    const r = await amtoolCheckConfig(SHIPPED_AM)
    expect(r.code, r.output).toBe(0)
  })

  it('fires: critical to the team PagerDuty service and the webhook, warnings by email, the inhibited warning nowhere; then resolves', async () => {
    // payments: over both thresholds (critical inhibits the warning); database: warning only.
    const high = [
      { team: 'payments', queue: 'orders', value: 50_000 },
      { team: 'database', queue: 'wal-archive', value: 5_000 },
    ]
    const feeder = setInterval(() => void push(high).catch(() => undefined), 1_000)
    try {
      await push(high)
      await pollUntil(
        'firing notifications at the webhook, PagerDuty and SMTP',
        60_000,
        async () => {
          const firing = webhookAlerts().filter((a) => a.status === 'firing')
          const haveWebhook = firing.some((a) => a.labels.team === 'payments' && a.labels.severity === 'critical') && firing.some((a) => a.labels.team === 'database' && a.labels.severity === 'warning')
          const havePd = pagerdutyEvents().some((e) => e.event_action === 'trigger')
          const haveMail = smtp.received.some((m) => m.to.includes('dba@example.com'))
          return haveWebhook && havePd && haveMail ? true : undefined
        },
        describeAll,
        250,
      )
    } finally {
      clearInterval(feeder)
    }

    // Routing: the critical payments alert went to the payments PagerDuty service only.
    const triggers = pagerdutyEvents().filter((e) => e.event_action === 'trigger')
    expect(triggers.map((e) => e.routing_key)).toEqual(['11111111111111111111111111111111'])
    expect(triggers[0]!.payload?.summary ?? '').toContain('QueueBacklog')
    // The warning of database went by email to the database team; nobody mailed payments
    // (its warning is inhibited by the critical alert) or the default SRE list.
    const recipients = smtp.received.flatMap((m) => m.to)
    expect(recipients).toContain('dba@example.com')
    expect(recipients).not.toContain('payments-oncall@example.com')
    expect(recipients).not.toContain('sre@example.com')
    const dbaMail = smtp.received.find((m) => m.to.includes('dba@example.com'))!
    expect(dbaMail.data).toContain('QueueBacklog')
    // Everything reached the webhook, except the inhibited warning; labels carry the external label.
    const firing = webhookAlerts().filter((a) => a.status === 'firing')
    expect(firing.some((a) => a.labels.team === 'payments' && a.labels.severity === 'warning')).toBe(false)
    const critical = firing.find((a) => a.labels.team === 'payments')!
    expect(critical.labels).toMatchObject({ alertname: 'QueueBacklog', cluster: 'e2e', queue: 'orders', severity: 'critical' })
    expect(critical.annotations.summary).toBe('Queue orders of team payments holds 50k messages')
    // Alertmanager itself holds the payments warning as suppressed by the inhibit rule.
    const held = await alertmanager.alerts()
    const inhibited = held.find((a) => a.labels.team === 'payments' && a.labels.severity === 'warning')
    expect(inhibited?.status.state).toBe('suppressed')
    expect(inhibited?.status.inhibitedBy.length).toBeGreaterThan(0)

    // The condition clears: resolves follow, at the webhook, PagerDuty and by mail.
    const low = high.map((d) => ({ ...d, value: 0 }))
    const feeder2 = setInterval(() => void push(low).catch(() => undefined), 1_000)
    try {
      await push(low)
      await pollUntil(
        'resolved notifications',
        60_000,
        async () => {
          const resolved = webhookAlerts().filter((a) => a.status === 'resolved')
          const ok =
            resolved.some((a) => a.labels.team === 'payments' && a.labels.severity === 'critical') &&
            resolved.some((a) => a.labels.team === 'database') &&
            pagerdutyEvents().some((e) => e.event_action === 'resolve' && e.routing_key === '11111111111111111111111111111111') &&
            smtp.received.filter((m) => m.to.includes('dba@example.com')).length >= 2
          return ok ? true : undefined
        },
        describeAll,
        250,
      )
    } finally {
      clearInterval(feeder2)
    }
    expect(smtp.received.filter((m) => m.to.includes('dba@example.com')).at(-1)!.data).toMatch(/RESOLVED|resolved/)
  }, 150_000)

  it('serves the alert rules and the recorded series through the Prometheus API', async () => {
    const base = `http://127.0.0.1:${metrichouse.address.port}`
    const rules = (await (await fetch(`${base}/api/v1/rules`)).json()) as { data: { groups: { name: string; rules: { name: string; type: string; health: string }[] }[] } }
    const group = rules.data.groups.find((g) => g.name === 'queues')!
    expect(group.rules.map((r) => `${r.type}:${r.name}:${r.health}`)).toEqual(['alerting:QueueBacklog:ok', 'alerting:QueueBacklog:ok', 'recording:team:queue_depth:max:ok'])
    // Recording-rule output went through the WAL into ClickHouse and is queryable like any series.
    const value = await pollUntil('the recorded series in storage', 30_000, async () => {
      const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent('team:queue_depth:max{team="database"}')}`)
      const body = (await res.json()) as { data?: { result: { value: [number, string] }[] } }
      return body.data?.result[0]?.value[1]
    })
    expect(['0', '5000']).toContain(value)
    // ALERTS was written back too.
    const alerts = await pollUntil('ALERTS in storage', 30_000, async () => {
      const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent('count(last_over_time(ALERTS{alertname="QueueBacklog"}[10m]))')}`)
      const body = (await res.json()) as { data?: { result: { value: [number, string] }[] } }
      return body.data?.result[0]?.value[1]
    })
    expect(Number(alerts)).toBeGreaterThanOrEqual(3)
  })
})
