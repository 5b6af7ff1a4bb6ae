// The status page: what this process is doing, refreshed every few seconds. Each panel reads
// a public endpoint and says so when this role does not serve it.
import { getJson, getText } from './api.js'
import { ago, el, errorBox, fmt, section, table } from './dom.js'
import { parseExposition, sum } from './exposition.js'

const REFRESH_MS = 5000

export async function statusPage(root) {
  const info = await getJson('/ui/info.json')
  const serves = (path) => info.ok && info.data.endpoints.includes(path)
  const panels = el('div', { class: 'grid' })
  const config = section('Configuration (secrets redacted)', el('pre', {}, info.ok ? JSON.stringify(info.data.config, null, 2) : info.error))
  root.append(panels, config)
  let previous
  let timer
  let stopped = false

  async function refresh() {
    const [ready, metricsText, rules, alerts, tsdb] = await Promise.all([
      getText('/-/ready'),
      getText('/metrics'),
      serves('/api/v1/rules') ? getJson('/api/v1/rules') : undefined,
      serves('/api/v1/alerts') ? getJson('/api/v1/alerts') : undefined,
      serves('/api/v1/status/tsdb') ? getJson('/api/v1/status/tsdb', { limit: '1' }) : undefined,
    ])
    if (stopped) return
    const now = { at: Date.now(), samples: parseExposition(metricsText.text) }
    const rate = (name, match) => {
      const cur = sum(now.samples, name, match)
      const prev = previous && sum(previous.samples, name, match)
      if (cur === undefined) return undefined
      if (prev === undefined) return NaN
      return Math.max(0, cur - prev) / ((now.at - previous.at) / 1000)
    }
    const rows = [
      ['state', el('td', { class: ready.ok ? 'ok' : 'warn', 'data-value': 'ready' }, ready.ok ? 'ready' : `not ready (${ready.status})`)],
      ['role', info.ok ? info.data.role : '?'],
      ['up since', info.ok ? ago(info.data.startedAt) : '?'],
    ]
    panels.replaceChildren(
      section('Health', table(['', ''], rows)),
      section('Ingest', table(['', 'per second'], [
        ['samples accepted (remote write)', el('td', { class: 'num' }, fmt(rate('metrichouse_adapter_samples_accepted_total')))],
        ['samples rejected', el('td', { class: 'num' }, fmt(rate('metrichouse_adapter_samples_rejected_total')))],
        ['requests refused (429/503/413…)', el('td', { class: 'num' }, fmt(rate('metrichouse_adapter_requests_rejected_total')))],
        ['samples landed from the WAL', el('td', { class: 'num' }, fmt(rate('metrichouse_flush_samples_total')))],
        ['samples landed from Kafka', el('td', { class: 'num' }, fmt(rate('metrichouse_ingester_samples_total')))],
        ['insert errors', el('td', { class: 'num' }, fmt(rate('metrichouse_flush_errors_total') ?? rate('metrichouse_ingester_insert_errors_total')))],
      ])),
      section('Active series', tsdb === undefined
        ? el('p', { class: 'muted' }, 'not available: this role does not serve /api/v1/status/tsdb')
        : tsdb.ok ? el('p', { 'data-value': 'series' }, fmt(tsdb.data.headStats?.numSeries), ' series') : errorBox(tsdb.error)),
      section('Log lag', table(['', ''], [
        ['WAL on disk', fmt(sum(now.samples, 'metrichouse_wal_bytes'), 'B')],
        ['WAL not yet in ClickHouse', fmt(sum(now.samples, 'metrichouse_flush_pending_bytes'), 'B')],
        ['Kafka consumer lag', fmt(sum(now.samples, 'metrichouse_ingester_consumer_lag_messages'), ' messages')],
      ])),
      section('Rollups', rollupPanel(now.samples)),
      section('Rule groups', rulesPanel(rules)),
      section('Alerts', alertsPanel(alerts)),
    )
    previous = now
  }

  const loop = async () => {
    await refresh().catch((err) => panels.replaceChildren(errorBox(String(err))))
    if (!stopped) timer = setTimeout(loop, REFRESH_MS)
  }
  loop()
  return () => {
    stopped = true
    clearTimeout(timer)
  }
}

// From the rollup gauges of /metrics (rollup/metrics.ts): roles that own the schema export them.
function rollupPanel(samples) {
  const stages = samples.filter((s) => s.name === 'metrichouse_rollup_newest_hour_timestamp_seconds')
  const views = samples.filter((s) => s.name === 'metrichouse_rollup_last_success_timestamp_seconds')
  if (stages.length === 0 && views.length === 0) return el('p', { class: 'muted' }, 'no rollup state in this role (or no data yet)')
  const iso = (seconds) => (seconds > 0 ? new Date(seconds * 1000).toISOString().replace('.000Z', 'Z') : 'never')
  const failing = (view) => samples.some((s) => s.name === 'metrichouse_rollup_refresh_failing' && s.labels.view === view && s.value > 0)
  return el('div', {},
    table(['stage', 'newest hour reached'], stages.map((s) => [s.labels.stage, iso(s.value)])),
    table(['refresh', 'last success', 'last run'], views.map((v) => [v.labels.view, iso(v.value), el('td', { class: failing(v.labels.view) ? 'bad' : 'ok' }, failing(v.labels.view) ? 'failed' : 'ok')])),
  )
}

function rulesPanel(rules) {
  if (rules === undefined) return el('p', { class: 'muted' }, 'no ruler in this role (ruler.rule_files is empty)')
  if (!rules.ok) return errorBox(rules.error)
  const rows = []
  for (const g of rules.data.groups) {
    const errors = g.rules.filter((r) => r.health === 'err')
    rows.push([
      g.name,
      g.file,
      ago(g.lastEvaluation),
      `${(g.evaluationTime * 1000).toFixed(1)} ms`,
      el('td', { class: errors.length ? 'bad' : 'ok' }, errors.length ? errors.map((r) => `${r.name}: ${r.lastError}`).join('\n') : `${g.rules.length} ok`),
    ])
  }
  return rows.length ? table(['group', 'file', 'last evaluation', 'took', 'rules'], rows) : el('p', { class: 'muted' }, 'no rule groups loaded')
}

function alertsPanel(alerts) {
  if (alerts === undefined) return el('p', { class: 'muted' }, 'no ruler in this role')
  if (!alerts.ok) return errorBox(alerts.error)
  const list = alerts.data.alerts
  if (list.length === 0) return el('p', { class: 'ok' }, 'nothing firing or pending')
  return table(['state', 'alert', 'labels', 'active since', 'value'], list.map((a) => [
    el('td', { class: a.state, 'data-alert': a.labels.alertname }, a.state),
    a.labels.alertname,
    el('td', { class: 'labels' }, Object.entries(a.labels).filter(([k]) => k !== 'alertname').map(([k, v]) => `${k}="${v}"`).join(', ')),
    ago(a.activeAt),
    el('td', { class: 'num' }, fmt(Number(a.value))),
  ]))
}
