/**
 * Isolation at a real `serve`: ad-hoc SQL, dashboards and the ruler read on lanes of their
 * own (one chDB session each), so a long SQL statement holds up neither a PromQL query nor
 * a rule evaluation; every statement a query or rule sends carries its ClickHouse limits.
 * Figures (how fast, on a quiet machine) belong to bench/, not here: these assert order.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metricValues, startTestServer, type TestServer } from './server.js'
import { encodeRw1 } from './wire.js'

// Long enough to overlap everything below even on a loaded 2-core box (12 s was not, once,
// with other test files running beside it); the SQL endpoint
// stops it there (sql.max_execution_time).
const SQL_SECONDS = 20
const LONG_SQL = `SELECT count() FROM numbers(1000000000000) WHERE sipHash64(number) % 7 = 3`

let server: TestServer

async function ruleEvaluations(): Promise<{ evaluations: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text()
  return { evaluations: [...metricValues(text, 'metrichouse_ruler_group_evaluations_total').values()].reduce((a, b) => a + b, 0) }
}

describe('isolation between SQL, dashboards and the ruler', () => {
  beforeAll(async () => {
    const rules = join(await mkdtemp(join(tmpdir(), 'metrichouse-isolation-rules-')), 'rules.yml')
    await writeFile(rules, 'groups:\n  - name: isolation\n    interval: 1s\n    rules:\n      - record: job:up:count\n        expr: count(up)\n')
    server = await startTestServer({ 'sql-max-execution-time': `${SQL_SECONDS}s`, 'ruler-rule-files': rules })
    const now = Date.now()
    const body = encodeRw1(Array.from({ length: 5 }, (_, i) => ({ labels: [['__name__', 'up'], ['instance', `i${i}`], ['job', 'isolation']], samples: [{ timestampMs: now - 1000, value: 1 }] })))
    expect((await server.write(server.snappy.compress(body))).status).toBe(204)
    await server.waitForNumber(`SELECT count() FROM samples WHERE metric_name = 'up'`, 5)
  })

  afterAll(async () => {
    await server?.stop()
  })

  it('answers count(up) and keeps evaluating rules while a long SQL statement runs', { timeout: 60_000 }, async () => {
    let sqlDone = false
    const sql = fetch(`${server.url}/clickhouse/`, { method: 'POST', body: LONG_SQL }).then(
      async (r) => {
        await r.text()
        sqlDone = true
        return r.status
      },
      () => ((sqlDone = true), 0),
    )
    try {
    // Let the statement start on its lane.
    await new Promise((r) => setTimeout(r, 1000))
    const before = await ruleEvaluations()

    const response = await fetch(`${server.url}/api/v1/query?${new URLSearchParams({ query: 'count(up)' })}`)
    const answer = (await response.json()) as { status: string; data: { result: { value: [number, string] }[] } }
    expect(answer.status).toBe('success')
    expect(answer.data.result[0].value[1]).toBe('5')
    expect(sqlDone).toBe(false)

    await new Promise((r) => setTimeout(r, 4000))
    const during = await ruleEvaluations()
    expect(sqlDone).toBe(false)
    // Blocked behind the statement, the ruler would not have finished one. (Missed slots are
    // counted, not asserted: on a loaded 2-core box the statement's CPU alone can delay one.)
    expect(during.evaluations - before.evaluations).toBeGreaterThanOrEqual(2)
    } finally {
      // The SQL endpoint stops the statement at its own limit (408).
      expect(await sql).toBe(408)
    }
  })
})
