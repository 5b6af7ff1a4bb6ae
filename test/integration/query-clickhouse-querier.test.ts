/**
 * The ClickHouse Querier against the embedded store, with data written by the write path's
 * own SampleStore: matcher semantics (anchored RE2, missing label = ''), stale markers by
 * their bits, inclusive time bounds, both push-downs equal to their off state, limits,
 * cancellation, the label lookups, and injection attempts that never change the SQL.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PromQLCanceledError, type LabelMatcher, type SelectHints, type SeriesData } from '../../promql/api.js'
import { ClickHouseQuerier, QueryLimitError } from '../../query/clickhouse-querier.js'
import { SeriesLoader, type LoadSeries } from '../../query/series-loader.js'
import { openStore, type StoreClients } from '../../store/connection.js'
import { ClickHouseSampleStore } from '../../store/sample-store.js'
import { publicSchema } from '../../rollup/public-schema.js'
import { migrate } from '../../store/schema.js'

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0)
const HOSTILE = [
  `'; DROP TABLE samples; --`,
  `\\'); SELECT 1; --`,
  `a\\\\b"c'd`,
  `{m0v0:String}`,
  `' OR 1=1 OR '`,
  `x\n'y\t\\z`,
]

let dir: string
let store: StoreClients
let querier: ClickHouseQuerier

function series(labels: Record<string, string>, values: number[], stale: number[] = []): LoadSeries {
  return { labels, timestamps: values.map((_, i) => T0 + i * 15_000), values, stale: values.map((_, i) => (stale.includes(i) ? 1 : 0)) }
}

const DATA: LoadSeries[] = [
  series({ __name__: 'cpu', host: 'a', region: 'eu', role: 'web' }, [1, 2, 3, 4]),
  series({ __name__: 'cpu', host: 'ab', region: 'eu', role: 'db' }, [10, 20, 30, 40]),
  series({ __name__: 'cpu', host: 'b', region: 'us' }, [5, 6, 7, 8], [3]),
  series({ __name__: 'mem', host: 'a', region: 'eu', note: 'line1\nline2' }, [100, 100, 100]),
  series({ __name__: 'odd', v: 'é' }, [Infinity, -Infinity, -0, 5e-324]),
  ...HOSTILE.map((h, i) => series({ __name__: 'hostile', value: h, idx: String(i) }, [i])),
  ...HOSTILE.map((h, i) => series({ __name__: h, idx: String(i) }, [i])),
]

function hints(over: Partial<SelectHints> = {}): SelectHints {
  return { start: T0, end: T0 + 60_000, step: 15_000, range: 0, lookbackDelta: 300_000, ...over }
}

const m = (name: string, type: LabelMatcher['type'], value: string): LabelMatcher => ({ name, type, value })

function keyed(data: SeriesData[]): Record<string, { t: number[]; v: number[]; stale: number[] }> {
  const out: Record<string, { t: number[]; v: number[]; stale: number[] }> = {}
  for (const s of data) {
    const key = JSON.stringify(Object.entries(s.labels).sort())
    out[key] = { t: [...Array.from(s.timestamps)], v: [...Array.from(s.values)], stale: s.stale ? [...Array.from(s.stale)] : new Array(s.timestamps.length).fill(0) }
  }
  return out
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metrichouse-querier-'))
  store = await openStore({ dataDir: dir, database: 'default' })
  await migrate(store.readWrite, publicSchema({ rawRetentionMs: 3650 * 86_400_000 }))
  const loader = await SeriesLoader.create(new ClickHouseSampleStore(store.insertRaw))
  await loader.load(DATA)
  querier = new ClickHouseQuerier(store.readOnly)
})

afterAll(async () => {
  await store?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('ClickHouseQuerier.select', () => {
  const CASES: { name: string; matchers: LabelMatcher[]; hosts: string[] }[] = [
    { name: 'equality on the metric name', matchers: [m('__name__', '=', 'cpu')], hosts: ['a', 'ab', 'b'] },
    { name: 'equality on a label', matchers: [m('__name__', '=', 'cpu'), m('host', '=', 'a')], hosts: ['a'] },
    { name: 'inequality', matchers: [m('__name__', '=', 'cpu'), m('host', '!=', 'a')], hosts: ['ab', 'b'] },
    { name: 'a regex anchored at both ends (a does not match ab)', matchers: [m('__name__', '=', 'cpu'), m('host', '=~', 'a')], hosts: ['a'] },
    { name: 'a regex alternation', matchers: [m('__name__', '=', 'cpu'), m('host', '=~', 'a|b')], hosts: ['a', 'b'] },
    { name: 'a negative regex', matchers: [m('__name__', '=', 'cpu'), m('host', '!~', 'a.*')], hosts: ['b'] },
    { name: 'a missing label equals the empty string', matchers: [m('__name__', '=', 'cpu'), m('role', '=', '')], hosts: ['b'] },
    { name: 'a regex matching empty selects series without the label', matchers: [m('__name__', '=', 'cpu'), m('role', '=~', 'db|')], hosts: ['ab', 'b'] },
    { name: 'a regex on the metric name', matchers: [m('__name__', '=~', 'cpu|mem'), m('region', '=', 'eu')], hosts: ['a', 'ab', 'a'] },
    { name: 'dot matches a newline', matchers: [m('__name__', '=', 'mem'), m('note', '=~', 'line1.line2')], hosts: ['a'] },
    { name: 'no match', matchers: [m('__name__', '=', 'cpu'), m('host', '=', 'zzz')], hosts: [] },
  ]
  for (const pushdown of [true, false]) {
    for (const c of CASES) {
      it(`selects ${c.name} (matcher push-down ${pushdown ? 'on' : 'off'})`, async () => {
        const q = new ClickHouseQuerier(store.readOnly, { pushdown: { matchers: pushdown } })
        const got = await q.select(c.matchers, hints())
        expect(got.map((s) => s.labels.host).sort()).toEqual([...c.hosts].sort())
      })
    }
  }

  it('returns samples sorted with exact values, infinities, negative zero and denormals', async () => {
    const [odd] = await querier.select([m('__name__', '=', 'odd'), m('v', '=~', '.')], hints())
    expect(Array.from(odd.timestamps)).toEqual([T0, T0 + 15_000, T0 + 30_000, T0 + 45_000])
    expect(Array.from(odd.values)).toEqual([Infinity, -Infinity, -0, 5e-324])
    expect(Object.is(odd.values[2], -0)).toBe(true)
  })

  it('flags stale markers found by their bits and returns them as NaN', async () => {
    const [b] = await querier.select([m('__name__', '=', 'cpu'), m('host', '=', 'b')], hints())
    expect(Array.from(b.stale ?? [])).toEqual([0, 0, 0, 1])
    expect(Number.isNaN(b.values[3])).toBe(true)
    expect(b.labels).toEqual({ __name__: 'cpu', host: 'b', region: 'us' })
  })

  it('bounds samples by start and end, both inclusive', async () => {
    const [a] = await querier.select([m('__name__', '=', 'cpu'), m('host', '=', 'a')], hints({ start: T0 + 15_000, end: T0 + 30_000 }))
    expect(Array.from(a.timestamps)).toEqual([T0 + 15_000, T0 + 30_000])
  })

  it('omits series without samples in the range', async () => {
    expect(await querier.select([m('__name__', '=', 'cpu')], hints({ start: T0 + 3_600_000, end: T0 + 3_700_000 }))).toEqual([])
  })

  it('reads only the newest sample per series for an instant vector selector, the same one as without the push-down', async () => {
    const instant = hints({ start: T0 + 45_000 - 300_000 + 1, end: T0 + 45_000, step: 0 })
    const on = await querier.select([m('__name__', '=', 'cpu')], instant)
    const off = await new ClickHouseQuerier(store.readOnly, { pushdown: { lastSample: false } }).select([m('__name__', '=', 'cpu')], instant)
    expect(on.every((s) => s.timestamps.length === 1)).toBe(true)
    const lastOf = (d: SeriesData[]) =>
      Object.fromEntries(Object.entries(keyed(d)).map(([k, s]) => [k, { t: s.t.at(-1), v: s.v.at(-1), stale: s.stale.at(-1) }]))
    expect(lastOf(on)).toEqual(lastOf(off))
    // The newest sample of host b is its stale marker: still returned, still flagged.
    expect(on.find((s) => s.labels.host === 'b')?.stale?.[0]).toBe(1)
  })

  it('refuses a selector over more series than max_series', async () => {
    const q = new ClickHouseQuerier(store.readOnly, { maxSeries: 2 })
    await expect(q.select([m('__name__', '=', 'cpu')], hints())).rejects.toBeInstanceOf(QueryLimitError)
    await expect(q.select([m('__name__', '=', 'cpu'), m('host', '=', 'a')], hints())).resolves.toHaveLength(1)
  })

  it('refuses a selector over more samples than max_samples', async () => {
    const q = new ClickHouseQuerier(store.readOnly, { maxSamples: 10 })
    await expect(q.select([m('__name__', '=', 'cpu')], hints())).rejects.toThrow(/too many samples/)
    await expect(q.select([m('__name__', '=', 'cpu'), m('host', '=', 'a')], hints())).resolves.toHaveLength(1)
  })

  it('sends its limits to ClickHouse with every statement: a memory bound too small for any read stops it there', async () => {
    const starved = new ClickHouseQuerier(store.readOnly, { limits: { maxExecutionTimeMs: 10_000, maxMemoryBytes: 1024 } })
    await expect(starved.select([m('__name__', '=', 'cpu')], hints())).rejects.toThrow(/too much memory in ClickHouse/)
    const ample = new ClickHouseQuerier(store.readOnly, { limits: { maxExecutionTimeMs: 10_000, maxMemoryBytes: 256 * 1024 * 1024 } })
    expect(keyed(await ample.select([m('__name__', '=', 'cpu')], hints()))).toEqual(keyed(await querier.select([m('__name__', '=', 'cpu')], hints())))
  })

  it('stops with a canceled error when the signal is aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(querier.select([m('__name__', '=', 'cpu')], hints(), controller.signal)).rejects.toBeInstanceOf(PromQLCanceledError)
  })
})

describe('injection: user text never changes the SQL', () => {
  it.each(HOSTILE.map((h, i) => [h, i]))('a hostile label value %j is matched literally', async (h, i) => {
    const benign = querier.seriesStatement([m('__name__', '=', 'hostile'), m('value', '=', 'plain')], T0)
    const hostile = querier.seriesStatement([m('__name__', '=', 'hostile'), m('value', '=', h as string)], T0)
    expect(hostile.sql).toBe(benign.sql)
    const got = await querier.select([m('__name__', '=', 'hostile'), m('value', '=', h as string)], hints())
    expect(got.map((s) => s.labels)).toEqual([{ __name__: 'hostile', value: h, idx: String(i) }])
  })

  it.each(HOSTILE.map((h, i) => [h, i]))('a hostile metric name %j is matched literally', async (h, i) => {
    const benign = querier.seriesStatement([m('__name__', '=', 'cpu')], T0)
    expect(querier.seriesStatement([m('__name__', '=', h as string)], T0).sql).toBe(benign.sql)
    const got = await querier.select([m('__name__', '=', h as string)], hints())
    expect(got.map((s) => s.labels)).toEqual([{ __name__: h, idx: String(i) }])
  })

  it('hostile label names and regexes keep the SQL and find nothing they should not', async () => {
    const benign = querier.seriesStatement([m('__name__', '=~', 'x'), m('host', '!~', 'y')], T0)
    for (const h of HOSTILE) {
      const stmt = querier.seriesStatement([m('__name__', '=~', h), m(h, '!~', h)], T0)
      expect(stmt.sql).toBe(benign.sql)
    }
    expect(await querier.select([m('__name__', '=', 'cpu'), m(HOSTILE[0], '=', 'a')], hints())).toEqual([])
    // A regex that quotes the hostile value exactly finds its one series.
    const quoted = HOSTILE[1].replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')
    const got = await querier.select([m('__name__', '=', 'hostile'), m('value', '=~', quoted)], hints())
    expect(got.map((s) => s.labels.idx)).toEqual(['1'])
    // Nothing was dropped along the way.
    expect((await querier.select([m('__name__', '=', 'cpu')], hints())).length).toBe(3)
  })
})

describe('ClickHouseQuerier label lookups', () => {
  const range = [T0 - 60_000, T0 + 120_000] as const

  it('lists the series of several matcher sets, each once, sorted', async () => {
    const got = await querier.series([[m('__name__', '=', 'cpu'), m('host', '=~', 'a.*')], [m('__name__', '=', 'mem')], [m('__name__', '=', 'cpu'), m('host', '=', 'a')]], ...range)
    expect(got).toEqual([
      { __name__: 'cpu', host: 'a', region: 'eu', role: 'web' },
      { __name__: 'cpu', host: 'ab', region: 'eu', role: 'db' },
      { __name__: 'mem', host: 'a', region: 'eu', note: 'line1\nline2' },
    ])
  })

  it('lists no series outside the time range', async () => {
    expect(await querier.series([[m('__name__', '=', 'cpu')]], T0 + 10 * 3_600_000, T0 + 11 * 3_600_000)).toEqual([])
  })

  it('lists label names, __name__ included, sorted', async () => {
    expect(await querier.labelNames([[m('__name__', '=', 'cpu')]], ...range)).toEqual(['__name__', 'host', 'region', 'role'])
    const all = await querier.labelNames([], ...range)
    expect(all).toEqual(['__name__', 'host', 'idx', 'note', 'region', 'role', 'v', 'value'])
  })

  it('lists label values, of __name__ too, without empty values', async () => {
    expect(await querier.labelValues('role', [], ...range)).toEqual(['db', 'web'])
    expect(await querier.labelValues('host', [[m('region', '=', 'eu')]], ...range)).toEqual(['a', 'ab'])
    expect(await querier.labelValues('__name__', [[m('host', '=', 'a')]], ...range)).toEqual(['cpu', 'mem'])
    expect(await querier.labelValues('role', [], ...range, 1)).toEqual(['db'])
  })
})
