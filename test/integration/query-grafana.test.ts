/**
 * examples/grafana works as shipped: the provisioning YAML parses with the fields Grafana
 * needs, and every panel query and variable query of every shipped dashboard is answered
 * by a real `serve` holding a fleet's data — with the template variables and Grafana's
 * interval macros expanded as Grafana expands them, sent as Grafana sends them (POST form).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { load as parseYaml } from 'js-yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeFleet, remoteWriteFleet, SCRAPE_MS } from '../fleet.js'
import { REPO_ROOT } from '../peers/metrichouse.js'
import { startTestServer, type TestServer } from './server.js'
import { encodeRw1 } from './wire.js'

const GRAFANA = join(REPO_ROOT, 'examples', 'grafana')
const DASHBOARDS = join(GRAFANA, 'dashboards')

interface Target {
  refId: string
  expr: string
  datasource?: { type: string; uid: string }
}
interface Panel {
  id: number
  title: string
  datasource?: { type: string; uid: string }
  targets?: Target[]
  panels?: Panel[]
}
interface Dashboard {
  uid: string
  title: string
  panels: Panel[]
  templating?: { list: { name: string; query: { query: string } | string; allValue?: string; datasource?: { uid: string } }[] }
}

const dashboards = readdirSync(DASHBOARDS)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, json: JSON.parse(readFileSync(join(DASHBOARDS, f), 'utf8')) as Dashboard }))

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])])
}

const panelQueries = dashboards.flatMap((d) =>
  allPanels(d.json.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ name: `${d.file}: ${p.title} (${t.refId})`, expr: t.expr, dashboard: d.json }))),
)

let server: TestServer
const NOW = Date.now()
const START = Math.floor((NOW - 70 * 60_000) / SCRAPE_MS) * SCRAPE_MS
const SAMPLES = 4 * 69

beforeAll(async () => {
  server = await startTestServer()
  const fleet = makeFleet({ pools: 6, hostsPerPool: 2, start: START, samplesPerSeries: SAMPLES })
  const sent = await remoteWriteFleet(fleet, [server.writeUrl], server.snappy)
  expect(await server.waitForNumber('SELECT count() FROM samples', sent, 30_000)).toBe(sent)
  // metrichouse's own /metrics, pushed into itself a few seconds apart (as a Prometheus scraping
  // it would remote-write): the self-monitoring dashboard's panels then have data to show.
  for (let i = 0; i < 3; i++) {
    // A remote write between scrapes, so the request-duration histogram moves from one scrape
    // to the next: its rate, and the latency panel's quantile, are then numbers, not NaN.
    const write = await server.write(server.snappy.compress(encodeRw1([{ labels: [['__name__', 'grafana_test_write'], ['i', String(i)]], samples: [{ timestampMs: Date.now(), value: i }] }])))
    expect(write.status).toBe(204)
    const text = await (await fetch(`${server.url}/metrics`)).text()
    const pushed = await fetch(`${server.url}/api/v1/import/prometheus?extra_label=instance=mh-test:9201&extra_label=job=metrichouse`, { method: 'POST', body: text, headers: { 'Content-Type': 'text/plain; version=0.0.4' } })
    expect(pushed.status, await pushed.text()).toBeLessThan(300)
    await new Promise((resolve) => setTimeout(resolve, 2_000))
  }
  expect(await server.waitForNumber(`SELECT uniqExact(timestamp) FROM samples WHERE metric_name = 'metrichouse_process_start_time_seconds'`, 3, 30_000)).toBe(3)
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

/** Grafana's expansion for a 1-hour dashboard 1000 px wide with a 15 s scrape interval. */
function expand(expr: string, dashboard: Dashboard): string {
  let out = expr
  for (const v of dashboard.templating?.list ?? []) out = out.replaceAll(`$${v.name}`, v.allValue ?? '.+').replaceAll(`\${${v.name}}`, v.allValue ?? '.+')
  return out.replaceAll('$__rate_interval', '1m').replaceAll('$__interval', '15s').replaceAll('$__range', '1h')
}

async function post(path: string, params: Record<string, string>) {
  const response = await fetch(`${server.url}${path}`, { method: 'POST', body: new URLSearchParams(params) })
  return { status: response.status, body: (await response.json()) as { status: string; error?: string; data: { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] } } }
}

describe('examples/grafana provisioning', () => {
  it('provisions a Prometheus data source Grafana can load', () => {
    const doc = parseYaml(readFileSync(join(GRAFANA, 'provisioning', 'datasources', 'metrichouse.yml'), 'utf8')) as {
      apiVersion: number
      datasources: { name: string; uid: string; type: string; access: string; url: string; jsonData: Record<string, unknown> }[]
    }
    expect(doc.apiVersion).toBe(1)
    expect(doc.datasources).toHaveLength(1)
    const ds = doc.datasources[0]
    expect(ds).toMatchObject({ name: 'metrichouse', uid: 'metrichouse', type: 'prometheus', access: 'proxy' })
    expect(new URL(ds.url).port).toBe('9201')
    expect(ds.jsonData.httpMethod).toBe('POST')
  })

  it('provisions the dashboards directory with a file provider', () => {
    const doc = parseYaml(readFileSync(join(GRAFANA, 'provisioning', 'dashboards', 'metrichouse.yml'), 'utf8')) as {
      apiVersion: number
      providers: { name: string; type: string; options: { path: string } }[]
    }
    expect(doc.apiVersion).toBe(1)
    expect(doc.providers[0]).toMatchObject({ type: 'file' })
    expect(doc.providers[0].options.path).toMatch(/^\//)
  })

  it.each(dashboards)('$file is a dashboard whose every query uses the provisioned data source', ({ json }) => {
    expect(json.uid).toBeTruthy()
    expect(json.title).toBeTruthy()
    const targets = allPanels(json.panels).flatMap((p) => (p.targets ?? []).map((t) => t.datasource?.uid ?? p.datasource?.uid))
    expect(targets.length).toBeGreaterThan(0)
    for (const uid of targets) expect(uid).toBe('metrichouse')
  })
})

describe('every panel query of the shipped dashboards', () => {
  it('covers the seed use cases', () => {
    const exprs = panelQueries.map((q) => q.expr).join('\n')
    for (const metric of ['node_cpu_seconds_total', 'role="web"', 'http_requests_total', 'node_memory_MemAvailable_bytes', 'queue_depth']) expect(exprs).toContain(metric)
  })

  // A panel must show data wherever its metrics have series in the test data; a panel on a
  // part this test does not run (Kafka, the ruler, the query cache) must at least not fail.
  async function dataExists(expr: string): Promise<boolean> {
    const names = [...new Set(expr.match(/[a-zA-Z_:][a-zA-Z0-9_:]*(?=\{)/g) ?? [])]
    for (const name of names) {
      const r = (await (await fetch(`${server.url}/api/v1/series?${new URLSearchParams({ 'match[]': name })}`)).json()) as { data: unknown[] }
      if (r.data.length === 0) return false
    }
    return names.length > 0
  }

  it.each(panelQueries)('$name answers a matrix, non-empty where its data exists', async ({ expr, dashboard }) => {
    // Now, not the fleet's NOW: the self-metrics were pushed after it.
    const now = Date.now()
    const { status, body } = await post('/api/v1/query_range', {
      query: expand(expr, dashboard),
      start: String(Math.floor((now - 3_600_000) / 15_000) * 15),
      end: String(Math.ceil(now / 15_000) * 15),
      step: '15',
    })
    expect(body.error ?? '', expand(expr, dashboard)).toBe('')
    expect(status).toBe(200)
    expect(body.data.resultType).toBe('matrix')
    if (await dataExists(expand(expr, dashboard))) expect(body.data.result.length, expand(expr, dashboard)).toBeGreaterThan(0)
    for (const s of body.data.result) expect(s.values.every(([, v]) => Number.isFinite(Number(v)))).toBe(true)
  })

  it.each(dashboards.flatMap((d) => (d.json.templating?.list ?? []).map((v) => ({ name: `${d.file}: $${v.name}`, v, dashboard: d.json }))))(
    'variable $name answers label values',
    async ({ v, dashboard }) => {
      const text = typeof v.query === 'string' ? v.query : v.query.query
      const m = /^label_values\((?:(.+),\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(text)
      expect(m, text).not.toBeNull()
      const params = new URLSearchParams({ start: String(Math.floor(Date.now() / 1000) - 3600), end: String(Math.ceil(Date.now() / 1000)) })
      if (m![1]) params.append('match[]', expand(m![1], dashboard))
      const response = await fetch(`${server.url}/api/v1/label/${m![2]}/values?${params}`)
      const body = (await response.json()) as { status: string; data: string[] }
      expect(body.status).toBe('success')
      expect(body.data.length).toBeGreaterThan(0)
    },
  )
})
