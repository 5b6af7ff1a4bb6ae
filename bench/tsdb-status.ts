/**
 * /api/v1/status/tsdb at scale (issue 18): `series` filled inside ClickHouse with the
 * project's target shape (pools x 100 servers x 100 metrics, six labels each, all active),
 * then TsdbStatusSource.status(10) timed, cold then warm. Embedded chDB, one process.
 * Run alone: node --import tsx bench/tsdb-status.ts [series, default 10000000]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { TsdbStatusSource } from '../query/tsdb-status.js'
import { publicSchema } from '../rollup/public-schema.js'
import { openStore } from '../store/connection.js'
import { migrate } from '../store/schema.js'

const total = Number(process.argv[2] ?? 10_000_000)
const dir = mkdtempSync(path.join(tmpdir(), 'mh-bench-tsdb-'))
const store = await openStore({ dataDir: dir, database: 'default' })
try {
  await migrate(store.readWrite, publicSchema({ rawRetentionMs: 7 * 86_400_000, rollups: false }))
  const started = performance.now()
  // number = pool * 10000 + server * 100 + metric
  await store.readWrite.command({
    query: `INSERT INTO series (series_id, metric_name, labels, first_seen, last_seen)
SELECT cityHash64(number), concat('node_metric_', toString(number % 100)),
       map('pool', concat('pool', toString(intDiv(number, 10000))),
           'host', concat('pool', toString(intDiv(number, 10000)), '-host', toString(intDiv(number, 100) % 100)),
           'instance', concat('pool', toString(intDiv(number, 10000)), '-host', toString(intDiv(number, 100) % 100), ':9100'),
           'job', 'node',
           'region', concat('region-', toString(intDiv(number, 10000) % 5)),
           'role', concat('role-', toString(intDiv(number, 10000) % 7))),
       now64(3) - toIntervalMinute(30), now64(3)
FROM numbers(${total})
SETTINGS max_insert_threads = 2`,
  })
  const generatedS = (performance.now() - started) / 1000
  const source = new TsdbStatusSource(store.readOnly)
  const times: number[] = []
  let numSeries = 0
  for (let i = 0; i < 3; i++) {
    const t = performance.now()
    numSeries = (await source.status(10)).headStats.numSeries
    times.push(Math.round(performance.now() - t))
  }
  console.log(JSON.stringify({ series: total, numSeries, generatedSeconds: Math.round(generatedS), statusMs: times }))
} finally {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
}
