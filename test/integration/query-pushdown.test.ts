/**
 * PromQL subtrees compiled into ClickHouse statements (query/pushdown/) against the engine
 * evaluating the same data from memory (MemoryQuerier): random series with gaps, counter
 * resets, stale markers, NaN and irregular scrapes, every pushed-down function and
 * aggregation, instant and range grids, offsets and `@`. Also: the output-series limit,
 * cancellation, and that the statement `rules compile` prints gives the rule's value.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PromQLCanceledError, type QueryResult, type SubtreeGrid } from '../../promql/api.js'
import { createEngine } from '../../promql/engine.js'
import { MemoryQuerier } from '../../promql/memory-querier.js'
import { parsePromQL } from '../../promql/parser.js'
import { ClickHouseQuerier, QueryLimitError } from '../../query/clickhouse-querier.js'
import { SeriesLoader, type LoadSeries } from '../../query/series-loader.js'
import { compileGroups } from '../../rules-compiler/compile.js'
import { parseRuleFile } from '../../rules-compiler/rule-file.js'
import { SqlGateway } from '../../query/sql-gateway.js'
import { openEmbeddedSession, openStore, type StoreClients } from '../../store/connection.js'
import { ClickHouseSampleStore } from '../../store/sample-store.js'
import { publicSchema } from '../../rollup/public-schema.js'
import { migrate } from '../../store/schema.js'
import { prng } from '../prng.js'

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0)
const RETENTION_MS = 10 * 365 * 86_400_000

let dir: string
let store: StoreClients
let pushed = 0
let sql: ClickHouseQuerier
const memory = new MemoryQuerier()
const engine = createEngine({ lookbackDelta: 300_000 })

/** Random series: irregular scrapes (5-40 s apart), gaps, counter resets, NaN, stale markers. */
function randomFleet(seed: number): LoadSeries[] {
  const rnd = prng(seed)
  const out: LoadSeries[] = []
  for (const name of ['c_total', 'g']) {
    for (let i = 0; i < 12; i++) {
      const ts: number[] = [], vs: number[] = [], st: number[] = []
      let t = T0 + Math.floor(rnd() * 30_000)
      let v = Math.floor(rnd() * 100)
      while (t < T0 + 3_600_000) {
        const r = rnd()
        if (r < 0.03) {
          ts.push(t); vs.push(NaN); st.push(1) // stale marker, then a gap
          t += 60_000 + Math.floor(rnd() * 400_000)
          continue
        }
        if (name === 'c_total') v = r < 0.06 ? Math.floor(rnd() * 10) : v + Math.floor(rnd() * 50)
        else v = r < 0.05 ? NaN : Math.round((rnd() - 0.4) * 1000) / 10
        ts.push(t); vs.push(v); st.push(0)
        t += 5_000 + Math.floor(rnd() * 35_000)
      }
      out.push({ labels: { __name__: name, pool: `p${i % 3}`, host: `h${i}`, ...(i % 4 === 0 ? { zone: 'z' } : {}) }, timestamps: ts, values: vs, stale: st })
    }
  }
  return out
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metrichouse-pushdown-'))
  store = await openStore({ dataDir: dir, database: 'default' })
  await migrate(store.readWrite, publicSchema({ rawRetentionMs: RETENTION_MS, rollups: false }))
  const fleet = randomFleet(14)
  const loader = await SeriesLoader.create(new ClickHouseSampleStore(store.insertRaw))
  await loader.load(fleet)
  for (const s of fleet) {
    memory.add(s.labels, Array.from(s.timestamps, (t, i) => ({ t, v: s.values[i]!, ...(s.stale?.[i] ? { stale: true } : {}) })))
  }
  sql = new ClickHouseQuerier(store.readOnly, { onPushdown: () => pushed++ })
}, 120_000)

afterAll(async () => {
  await store?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

function sameResult(a: QueryResult, b: QueryResult, what: string): void {
  expect(b.value.type, what).toBe(a.value.type)
  const norm = (r: QueryResult) => {
    const v = r.value
    const rows = v.type === 'matrix' ? v.series.map((s) => ({ l: JSON.stringify(Object.entries(s.labels).sort()), p: s.points })) : v.type === 'vector' ? v.samples.map((s) => ({ l: JSON.stringify(Object.entries(s.labels).sort()), p: [{ t: s.t, v: s.v }] })) : []
    return rows.sort((x, y) => (x.l < y.l ? -1 : x.l > y.l ? 1 : 0))
  }
  const ra = norm(a), rb = norm(b)
  expect(rb.map((r) => r.l), what).toEqual(ra.map((r) => r.l))
  ra.forEach((r, i) => {
    const o = rb[i]!
    expect(o.p.map((p) => p.t), `${what} ${r.l}`).toEqual(r.p.map((p) => p.t))
    r.p.forEach((p, k) => {
      const q = o.p[k]!.v
      if (Number.isNaN(p.v)) expect(q, `${what} ${r.l} @${p.t}`).toBeNaN()
      else if (!Number.isFinite(p.v)) expect(q, `${what} ${r.l} @${p.t}`).toBe(p.v)
      else expect(Math.abs(q - p.v), `${what} ${r.l} @${p.t}: ${q} vs ${p.v}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(p.v)))
    })
  })
  expect(b.infos, what).toEqual(a.infos)
  expect(b.warnings, what).toEqual(a.warnings)
}

const SERIES_EXPRS = [
  'c_total', 'g{pool="p1"}', 'g offset 3m', 'c_total @ 1795177800',
  'rate(c_total[5m])', 'increase(c_total[3m])', 'delta(g[5m])', 'irate(c_total[2m])', 'idelta(g[1m])',
  'resets(c_total[10m])', 'predict_linear(g[10m], 600)', 'last_over_time(g[2m])', 'rate(g[5m])', 'rate(c_total[5m] offset 1m)',
]
const AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar']
const GROUPINGS = ['', ' by (pool)', ' without (host)', ' by (zone)', ' by (__name__)']

describe('compiled PromQL subtrees give what the engine gives from memory', () => {
  it('on random data, for every pushed-down function and aggregation, range and instant', async () => {
    const queries = fc.oneof(
      fc.constantFrom(...SERIES_EXPRS),
      fc.tuple(fc.constantFrom(...AGGREGATIONS), fc.constantFrom(...GROUPINGS), fc.constantFrom(...SERIES_EXPRS.filter((e) => !e.startsWith('rate(g')))).map(([op, by, e]) => `${op}${by} (${e})`),
    )
    const before = pushed
    await fc.assert(
      fc.asyncProperty(queries, fc.integer({ min: 0, max: 3_300_000 }), fc.constantFrom(0, 15_000, 60_000, 37_000), fc.integer({ min: 1, max: 60 }), async (q, from, step, steps) => {
        const start = T0 + from
        if (step === 0) {
          sameResult(await engine.instantQuery(memory, q, start), await engine.instantQuery(sql, q, start), `${q} at ${start}`)
        } else {
          const end = start + step * (steps - 1)
          sameResult(await engine.rangeQuery(memory, q, start, end, step), await engine.rangeQuery(sql, q, start, end, step), `${q} over ${start}..${end}/${step}`)
        }
      }),
      { numRuns: 120, seed: 14 },
    )
    // The comparison means something only if the compiled path answered.
    expect(pushed - before).toBeGreaterThan(100)
  }, 600_000)

  it('a subtree with more output series than the limit is refused, not loaded', async () => {
    const small = new ClickHouseQuerier(store.readOnly, { maxOutputSeries: 5 })
    await expect(engine.instantQuery(small, 'rate(c_total[5m])', T0 + 1_800_000)).rejects.toThrow(QueryLimitError)
    // Aggregated output is small: the same input is fine.
    const r = await engine.instantQuery(small, 'sum by (pool) (rate(c_total[5m]))', T0 + 1_800_000)
    expect(r.value.type === 'vector' && r.value.samples.length).toBe(3)
  })

  it('a cancelled query stops with PromQL’s canceled error', async () => {
    const ctl = new AbortController()
    ctl.abort()
    await expect(engine.rangeQuery(sql, 'sum by (pool) (rate(c_total[5m]))', T0, T0 + 3_600_000, 15_000, { signal: ctl.signal })).rejects.toThrow(PromQLCanceledError)
  })

  it('declines what it cannot compute exactly, and the engine still answers', async () => {
    const grid: SubtreeGrid = { start: T0, end: T0, step: 0, lookbackDelta: 300_000, queryStart: T0, queryEnd: T0 }
    for (const q of ['changes(g[5m])', 'deriv(g[5m])', 'quantile_over_time(0.5, g[5m])', 'topk(2, g)', 'sum(rate({__name__=~"c_.*"}[5m]))']) {
      expect(sql.compile(parsePromQL(q), grid), q).toBeUndefined()
      sameResult(await engine.instantQuery(memory, q, T0 + 1_800_000), await engine.instantQuery(sql, q, T0 + 1_800_000), q)
    }
  })

  it('the statement rules compile prints, run with its parameters, gives the rule’s value', async () => {
    const t = T0 + 1_800_000
    const rules = parseRuleFile('r.yml', `groups:\n- name: g\n  rules:\n  - record: pool:c:rate5m\n    expr: sum by (pool) (rate(c_total[5m]))\n`)
    const [plan] = compileGroups(rules.groups, { evaluationTime: t })
    expect(plan!.pushed).toHaveLength(1)
    const { sql: text, params } = plan!.pushed[0]!.statement
    const rs = await store.readOnly.query({ query: text, query_params: params, format: 'JSONEachRow' })
    const rows = await rs.json<{ labels: Record<string, string>; v: number[]; p: number[] }>()
    const expected = await engine.instantQuery(memory, 'sum by (pool) (rate(c_total[5m]))', t)
    const got = rows.filter((r: { p: number[] }) => r.p[0] === 1).map((r: { labels: Record<string, string>; v: number[] }) => ({ labels: r.labels, t, v: Number(r.v[0]) }))
    sameResult(expected, { value: { type: 'vector', samples: got }, warnings: [], infos: [] }, 'rules compile statement')
  })

  it('the statement rules compile prints, pasted into the read-only SQL endpoint, gives the same rows', async () => {
    const t = T0 + 1_800_000
    const rules = parseRuleFile('r.yml', `groups:\n- name: g\n  rules:\n  - record: pool:c:rate5m\n    expr: sum by (pool) (rate(c_total[5m]))\n`)
    const { sql: text, params } = compileGroups(rules.groups, { evaluationTime: t })[0]!.pushed[0]!.statement
    const direct = await (await store.readOnly.query({ query: text, query_params: params, format: 'JSONEachRow' })).json()
    // The gateway of /clickhouse/ on a session of its own: locked read-only, the guard first.
    const session = await openEmbeddedSession(dir, 'default')
    try {
      const gateway = new SqlGateway({ client: session, embedded: true, database: 'default', maxExecutionTimeMs: 30_000, maxResultRows: 100_000 })
      // As a user passes them in param_<name>: ClickHouse's text format of each value.
      const literal = (x: unknown) => (typeof x === 'string' ? `'${x.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : String(x))
      const textParams = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Array.isArray(v) ? `[${v.map(literal).join(',')}]` : String(v)]))
      const stream = await gateway.run(text, { format: 'JSONEachRow', queryParams: textParams })
      const chunks: Buffer[] = []
      for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer))
      const pasted = Buffer.concat(chunks).toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as unknown)
      expect(pasted).toEqual(direct)
    } finally {
      await session.close()
    }
  })
})
