/**
 * Compiled PromQL subtrees at scale: N counter series x 1 h at 15 s generated inside an
 * embedded ClickHouse (INSERT ... SELECT, no Node in the write), then
 * `sum by (pool) (rate(x[5m]))` as a 1 h range query at step 60 s through the engine with
 * the compiled path (query/pushdown/) and, for sizes the sample-reading path can hold, without
 * it. Reports p50 latency and the process's RSS growth during the compiled queries.
 *
 *   node --import tsx bench/pushdown.ts [series=1000000] [runs=3]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEngine } from '../promql/engine.js'
import { ClickHouseQuerier } from '../query/clickhouse-querier.js'
import { openStore } from '../store/connection.js'
import { publicSchema } from '../rollup/public-schema.js'
import { migrate } from '../store/schema.js'

const series = Number(process.argv[2] ?? 1_000_000)
const runs = Number(process.argv[3] ?? 3)
const HOUR = 3_600_000
const end = Math.floor(Date.now() / 60_000) * 60_000 - 120_000
const start = end - HOUR
const dir = await mkdtemp(join(tmpdir(), 'metrichouse-bench-pushdown-'))
const store = await openStore({ dataDir: dir, database: 'default' })
try {
  await migrate(store.readWrite, publicSchema({ rawRetentionMs: 7 * 86_400_000, rollups: false }))
  const t0 = performance.now()
  const first = start - 10 * 60_000
  const points = (end - first) / 15_000 + 1
  // Series ids are synthetic (cityHash64 of the number): the statements only need them to agree.
  await store.readWrite.command({
    query: `INSERT INTO series (series_id, metric_name, labels, first_seen, last_seen)
SELECT cityHash64(number), 'x_total', map('pool', concat('pool', toString(number % 1000)), 'host', concat('h', toString(number))),
  fromUnixTimestamp64Milli(toInt64(${first}), 'UTC'), fromUnixTimestamp64Milli(toInt64(${end}), 'UTC')
FROM numbers(${series})`,
  })
  await store.readWrite.command({
    query: `INSERT INTO samples (metric_name, series_id, insert_timestamp_ms, insert_value, insert_nan_bits)
SELECT 'x_total', cityHash64(intDiv(number, ${points})), toInt64(${first}) + (number % ${points}) * 15000, toFloat64((number % ${points}) * (1 + intDiv(number, ${points}) % 7)), 0
FROM numbers(${series * points})`,
    clickhouse_settings: { max_partitions_per_insert_block: '1000', max_insert_threads: '2' },
  })
  process.stderr.write(`pushdown bench: ${series} series x ${points} samples generated in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`)
  const engine = createEngine({ maxSamples: 2_000_000_000 })
  const q = 'sum by (pool) (rate(x_total[5m]))'
  const measure = async (querier: ClickHouseQuerier) => {
    const times: number[] = []
    for (let i = 0; i < runs; i++) {
      const t = performance.now()
      const r = await engine.rangeQuery(querier, q, start, end, 60_000)
      times.push(performance.now() - t)
      if (r.value.type !== 'matrix' || r.value.series.length !== Math.min(1000, series)) throw new Error(`unexpected result: ${r.value.type}`)
    }
    return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!
  }
  global.gc?.()
  const rss0 = process.memoryUsage().rss
  let peak = rss0
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
  const compiled = await measure(new ClickHouseQuerier(store.readOnly))
  clearInterval(timer)
  process.stderr.write(`pushdown bench: compiled p50 ${compiled.toFixed(0)} ms, RSS growth ${((peak - rss0) / 2 ** 20).toFixed(0)} MiB\n`)
  if (series <= 100_000) {
    const samplePath = await measure(new ClickHouseQuerier(store.readOnly, { maxSeries: series + 1, pushdown: { subtrees: false } }))
    process.stderr.write(`pushdown bench: sample-reading path p50 ${samplePath.toFixed(0)} ms (${(samplePath / compiled).toFixed(1)}x the compiled)\n`)
  }
} finally {
  await store.close()
  await rm(dir, { recursive: true, force: true })
}
