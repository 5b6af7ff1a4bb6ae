/**
 * /clickhouse/ against a real `serve`: ClickHouse's HTTP query protocol (query parameter,
 * body, both, default_format, FORMAT, bound parameters, errors as ClickHouse sends them),
 * read-only whatever the statement tries, and a read-only lock that stays on the SQL
 * connection: remote write keeps storing through the writer connection afterwards.
 */
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './server.js'
import { encodeRw1, type TestSeries } from './wire.js'

let server: TestServer
const T0 = Date.now() - 10 * 60_000
const SEEDED = 20

function seriesBatch(metric: string, from: number, count: number): TestSeries[] {
  return [{ labels: [['__name__', metric], ['job', 'sql']], samples: Array.from({ length: count }, (_, j) => ({ timestampMs: from + j * 1000, value: j })) }]
}

interface SqlRequest {
  /** The `query` URL parameter. */
  query?: string
  /** POST body; absent: GET. */
  body?: string
  params?: Record<string, string>
}

async function sqlRequest(r: SqlRequest): Promise<{ status: number; text: string; headers: Headers }> {
  const search = new URLSearchParams(r.params)
  if (r.query !== undefined) search.set('query', r.query)
  const response = await fetch(`${server.url}/clickhouse/?${search}`, { method: r.body === undefined ? 'GET' : 'POST', body: r.body })
  return { status: response.status, text: await response.text(), headers: response.headers }
}

const READS: { name: string; request: SqlRequest; text: string | RegExp; contentType?: RegExp }[] = [
  { name: 'SQL in the query parameter of a GET', request: { query: 'SELECT count() FROM samples' }, text: `${SEEDED}\n`, contentType: /^text\/tab-separated-values/ },
  { name: 'SQL in the body of a POST', request: { body: 'SELECT count() FROM samples' }, text: `${SEEDED}\n` },
  { name: 'the query parameter and the body joined', request: { query: 'SELECT count()', body: 'FROM samples' }, text: `${SEEDED}\n` },
  {
    name: 'default_format=JSONEachRow, UInt64 quoted as a string',
    request: { query: 'SELECT toUInt64(18446744073709551615) AS big, toUInt8(7) AS small', params: { default_format: 'JSONEachRow' } },
    text: '{"big":"18446744073709551615","small":7}\n',
    contentType: /^application\/json/,
  },
  {
    name: 'series_id in JSONEachRow as a string',
    request: { query: 'SELECT series_id FROM series LIMIT 1', params: { default_format: 'JSONEachRow' } },
    text: /^\{"series_id":"[0-9]+"\}\n$/,
  },
  { name: 'a FORMAT clause in the SQL', request: { query: 'SELECT 1 AS a FORMAT JSONEachRow' }, text: '{"a":1}\n' },
  { name: 'TabSeparated again on the next request (default_format does not stick)', request: { query: 'SELECT 1 AS a' }, text: '1\n' },
  {
    name: 'a bound String parameter',
    request: { query: 'SELECT count() FROM samples WHERE metric_name = {name:String}', params: { param_name: 'sql_metric' } },
    text: `${SEEDED}\n`,
  },
  { name: 'a bound UInt32 parameter', request: { query: 'SELECT {n:UInt32} + 1', params: { param_n: '41' } }, text: '42\n' },
  {
    name: 'an injection attempt through a parameter, which stays a value',
    request: { query: 'SELECT count() FROM samples WHERE metric_name = {name:String}', params: { param_name: "sql_metric' OR 1=1 --" } },
    text: '0\n',
  },
  {
    name: 'an injection attempt echoed back verbatim',
    request: { query: 'SELECT {v:String} AS v', params: { param_v: 'x); DROP TABLE samples; --', default_format: 'JSONEachRow' } },
    text: '{"v":"x); DROP TABLE samples; --"}\n',
  },
  { name: 'SHOW TABLES', request: { query: 'SHOW TABLES' }, text: /^(\w+\n)*samples\n(\w+\n)*series\n$/ },
  { name: 'the readonly setting of the SQL connection', request: { query: "SELECT getSetting('readonly')" }, text: '1\n' },
]

const OUTFILE = join(tmpdir(), `metrichouse-outfile-${process.pid}-${Date.now()}.tsv`)

/** Statements that must not run; `code` is the ClickHouse error code each gets. */
const REFUSED: { sql: string; body?: string; code: number; status: number }[] = [
  { sql: 'SELECT 1; DROP TABLE samples', code: 62, status: 400 },
  { sql: 'SELECT 1', body: '; DROP TABLE samples', code: 62, status: 400 },
  { sql: 'DROP TABLE samples', code: 164, status: 403 },
  { sql: "INSERT INTO samples (metric_name, series_id, timestamp, value) VALUES ('sql_metric', 1, now(), 1)", code: 164, status: 403 },
  { sql: "SELECT * FROM file('/etc/passwd', 'LineAsString')", code: 164, status: 403 },
  { sql: "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')", code: 164, status: 403 },
  { sql: "SELECT * FROM remote('127.0.0.1:9000', system.one)", code: 164, status: 403 },
  { sql: "SELECT * FROM s3('http://127.0.0.1:1/bucket/key.csv', 'CSV')", code: 164, status: 403 },
  { sql: "SELECT * FROM executable('x.sh', 'TSV', 'x String')", code: 164, status: 403 },
  { sql: `SELECT 1 INTO OUTFILE '${OUTFILE}'`, code: 358, status: 400 },
  { sql: `WITH 1 AS x SELECT x FROM system.one INTO OUTFILE '${OUTFILE}' FORMAT CSV`, code: 358, status: 400 },
  { sql: 'SELECT 1 SETTINGS readonly=0', code: 164, status: 403 },
  { sql: 'SELECT count() FROM numbers(10) SETTINGS max_result_rows=0', code: 164, status: 403 },
  { sql: 'SET readonly=0', code: 164, status: 403 },
  { sql: 'SYSTEM DROP MARK CACHE', code: 164, status: 403 },
  { sql: 'CREATE TABLE evil (x UInt8) ENGINE = Memory', code: 164, status: 403 },
  { sql: 'ALTER TABLE samples DELETE WHERE 1', code: 164, status: 403 },
  { sql: 'OPTIMIZE TABLE samples FINAL', code: 164, status: 403 },
  { sql: 'KILL QUERY WHERE 1', code: 164, status: 403 },
  { sql: 'TRUNCATE TABLE samples', code: 164, status: 403 },
]

// Every table of the schema (raw, rollups and their machinery), as the store created them.
let tablesBefore = ''

describe('/clickhouse/ SQL endpoint', () => {
  beforeAll(async () => {
    server = await startTestServer()
    const answer = await server.write(server.snappy.compress(encodeRw1(seriesBatch('sql_metric', T0, SEEDED))))
    expect(answer.status).toBe(204)
    expect(await server.waitForNumber('SELECT count() FROM samples', SEEDED)).toBe(SEEDED)
    tablesBefore = await server.sql('SHOW TABLES')
  })

  afterAll(async () => {
    await server?.stop()
  })

  it.each(READS)('answers 200 to $name', async ({ request, text, contentType }) => {
    const answer = await sqlRequest(request)
    expect({ status: answer.status, text: answer.text }).toEqual({ status: 200, text: typeof text === 'string' ? text : expect.stringMatching(text) })
    if (contentType) expect(answer.headers.get('content-type')).toMatch(contentType)
  })

  it.each(REFUSED)('refuses $sql with ClickHouse error $code and leaves the tables as they were', async ({ sql, body, code, status }) => {
    const answer = await sqlRequest({ query: sql, body })
    expect(answer.status).toBe(status)
    expect(answer.text).toMatch(new RegExp(`^Code: ${code}\\. DB::Exception: `))
    expect(answer.headers.get('x-clickhouse-exception-code')).toBe(String(code))
    expect(await server.sql('SHOW TABLES')).toBe(tablesBefore)
    expect(await server.sqlNumber('SELECT count() FROM samples')).toBe(SEEDED)
    expect(existsSync(OUTFILE)).toBe(false)
  })

  it('answers an unknown table with 404 and code 60, as ClickHouse does', async () => {
    const answer = await sqlRequest({ query: 'SELECT * FROM no_such_table' })
    expect(answer.status).toBe(404)
    expect(answer.headers.get('x-clickhouse-exception-code')).toBe('60')
    expect(answer.text).toMatch(/^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\)/)
  })

  it('still stores remote writes after all that: the read-only lock stays off the writer connection', async () => {
    const before = await server.sqlNumber('SELECT count() FROM samples')
    const answer = await server.write(server.snappy.compress(encodeRw1(seriesBatch('after_refusals', T0, 7))))
    expect(answer.status).toBe(204)
    expect(await server.waitForNumber('SELECT count() FROM samples', before + 7)).toBe(before + 7)
    expect(await server.sqlNumber(`SELECT sum(value) FROM samples WHERE metric_name = 'after_refusals'`)).toBe(21)
    // And the SQL connection is still locked.
    expect((await sqlRequest({ query: 'DROP TABLE samples' })).status).toBe(403)
    expect(await server.sql("SELECT getSetting('readonly')")).toBe('1\n')
  })

  describe('through @clickhouse/client with pathname /clickhouse', () => {
    let client: ClickHouseClient
    beforeAll(() => {
      client = createClient({ url: server.url, pathname: '/clickhouse', request_timeout: 10_000, log: { level: ClickHouseLogLevel.OFF } })
    })
    afterAll(async () => {
      await client?.close()
    })

    it('answers ping', async () => {
      expect(await client.ping()).toMatchObject({ success: true })
    })

    it('runs a JSONEachRow query with a bound parameter', async () => {
      const rs = await client.query({
        query: 'SELECT metric_name, count() AS n FROM samples WHERE metric_name = {name:String} GROUP BY metric_name',
        query_params: { name: 'sql_metric' },
        format: 'JSONEachRow',
      })
      expect(await rs.json()).toEqual([{ metric_name: 'sql_metric', n: String(SEEDED) }])
    })

    it('throws the ClickHouse error code of a refused statement', async () => {
      await expect(client.command({ query: 'DROP TABLE samples' })).rejects.toMatchObject({ code: '164', type: 'READONLY' })
    })

    // The client sends param values escaped, as ClickHouse's HTTP interface expects; the
    // handler must unescape String values before its own client escapes them again.
    it('binds a parameter value that holds a quote exactly', async () => {
      const rs = await client.query({ query: 'SELECT {v:String} AS v', query_params: { v: "it's" }, format: 'JSONEachRow' })
      expect(await rs.json()).toEqual([{ v: "it's" }])
    })
  })
})
