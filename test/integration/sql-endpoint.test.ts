/**
 * /clickhouse/ against a real `serve`: ClickHouse's HTTP query protocol (query parameter,
 * body, both, default_format, FORMAT, bound parameters, errors as ClickHouse sends them),
 * read-only whatever the statement tries, and a read-only lock that stays on the SQL
 * connection: remote write keeps storing through the writer connection afterwards.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
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
  // What ad-hoc analysis needs keeps working under the function and table allowlist.
  { name: 'an aggregate behind combinators and a lambda', request: { query: 'SELECT sumIf(value, value >= 10), arrayMap(x -> x * 2, [1, 2]) FROM samples' }, text: '145\t[2,4]\n' },
  { name: 'a parametric aggregate', request: { query: 'SELECT quantileExact(0.5)(value) FROM samples' }, text: '10\n' },
  { name: 'a WITH clause read as a table', request: { query: 'WITH s AS (SELECT value FROM samples) SELECT count() FROM s' }, text: `${SEEDED}\n` },
  { name: 'IN over a subquery of the series table', request: { query: 'SELECT count() FROM samples WHERE series_id IN (SELECT series_id FROM series)' }, text: `${SEEDED}\n` },
  { name: 'the served database named explicitly', request: { query: 'SELECT count() FROM default.samples' }, text: `${SEEDED}\n` },
  { name: 'the numbers table function', request: { query: 'SELECT sum(number) FROM numbers(10)' }, text: '45\n' },
  { name: 'DESCRIBE of a store table', request: { query: 'DESCRIBE TABLE series' }, text: /^series_id\t/ },
  { name: 'EXISTS of a store table', request: { query: 'EXISTS TABLE samples' }, text: '1\n' },
  { name: 'SHOW CREATE TABLE of a store table', request: { query: 'SHOW CREATE TABLE samples' }, text: /CREATE TABLE default\.samples/ },
  { name: 'EXPLAIN of a store query', request: { query: 'EXPLAIN SELECT count() FROM samples' }, text: /ReadFrom/ },
]

/** A file the endpoint must never read, with a marker no answer may contain. */
const SECRET_MARKER = `secret-${process.pid}-${Date.now()}`
const secretDir = mkdtempSync(join(tmpdir(), 'metrichouse-sql-secret-'))
const SECRET_FILE = join(secretDir, 'token')
/** A listener the endpoint must never connect to (its port is filled in beforeAll). */
let listener: Server
let listenerHits = 0
let listenerPort = 0

/**
 * Attempts to read files, reach hosts, read other databases or the engine's own state,
 * with the read credentials only. `code` is the ClickHouse error each gets; `${FILE}` and
 * `${PORT}` stand for the secret file and the listening port.
 */
const HOSTILE: { name: string; sql: string; code: number; status: number }[] = [
  { name: 'the scalar file()', sql: "SELECT file('${FILE}')", code: 446, status: 403 },
  { name: 'the scalar file() in capitals', sql: "SELECT FILE('${FILE}')", code: 446, status: 403 },
  { name: 'the scalar file() backquoted', sql: "SELECT `file`('${FILE}')", code: 446, status: 403 },
  { name: 'file() inside a WITH clause', sql: "WITH file('${FILE}') AS f SELECT f", code: 446, status: 403 },
  { name: 'file() inside a subquery', sql: "SELECT * FROM (SELECT file('${FILE}') AS f)", code: 446, status: 403 },
  { name: 'file() inside view()', sql: "SELECT * FROM view(SELECT file('${FILE}'))", code: 446, status: 403 },
  { name: 'file() under EXPLAIN', sql: "EXPLAIN SELECT file('${FILE}')", code: 446, status: 403 },
  { name: 'DESCRIBE of the file table function (schema inference reads the first line)', sql: "DESCRIBE file('${FILE}', 'TSVWithNames')", code: 164, status: 403 },
  { name: 'DESCRIBE of the url table function (schema inference connects)', sql: "DESCRIBE url('http://127.0.0.1:${PORT}/x', 'TSVWithNames')", code: 164, status: 403 },
  { name: 'DESCRIBE of s3', sql: "DESCRIBE s3('http://127.0.0.1:${PORT}/bucket/key', 'TSVWithNames')", code: 164, status: 403 },
  { name: 'DESCRIBE of remote', sql: "DESCRIBE remote('127.0.0.1:${PORT}', system.one)", code: 164, status: 403 },
  { name: 'EXPLAIN PIPELINE over url', sql: "EXPLAIN PIPELINE SELECT * FROM url('http://127.0.0.1:${PORT}/x', 'TSVWithNames')", code: 164, status: 403 },
  { name: 'url in a subquery', sql: "SELECT * FROM (SELECT * FROM url('http://127.0.0.1:${PORT}/x', 'TSVWithNames'))", code: 164, status: 403 },
  { name: 'the merge table function over system', sql: "SELECT * FROM merge('system', '^one$')", code: 164, status: 403 },
  { name: 'a system table', sql: 'SELECT * FROM system.one', code: 497, status: 403 },
  { name: 'system settings of the server', sql: 'SELECT name, value FROM system.server_settings', code: 497, status: 403 },
  { name: 'a system table backquoted', sql: 'SELECT * FROM `system`.`one`', code: 497, status: 403 },
  { name: 'information_schema', sql: 'SELECT * FROM information_schema.tables', code: 497, status: 403 },
  { name: 'a system table joined', sql: 'SELECT count() FROM samples JOIN system.one ON 1', code: 497, status: 403 },
  { name: 'a system table on the right of IN', sql: 'SELECT count() FROM samples WHERE 0 IN system.one', code: 497, status: 403 },
  { name: 'DESCRIBE of a system table', sql: 'DESCRIBE TABLE system.one', code: 497, status: 403 },
  { name: 'EXISTS of a system table', sql: 'EXISTS TABLE system.one', code: 497, status: 403 },
  { name: 'SHOW TABLES FROM system', sql: 'SHOW TABLES FROM system', code: 497, status: 403 },
  { name: 'SHOW DATABASES', sql: 'SHOW DATABASES', code: 497, status: 403 },
  { name: 'SHOW PROCESSLIST', sql: 'SHOW PROCESSLIST', code: 497, status: 403 },
  { name: 'SHOW SETTINGS', sql: "SHOW SETTINGS LIKE '%path%'", code: 497, status: 403 },
  { name: 'SHOW CREATE USER', sql: 'SHOW CREATE USER default', code: 497, status: 403 },
  { name: 'a server setting (paths)', sql: "SELECT getServerSetting('path')", code: 446, status: 403 },
  { name: 'the host name', sql: 'SELECT hostName()', code: 446, status: 403 },
  { name: 'free disk space', sql: 'SELECT filesystemAvailable()', code: 446, status: 403 },
  { name: 'joinGet, which names a table in a string', sql: "SELECT joinGet('system.one', 'dummy', 0)", code: 446, status: 403 },
  { name: 'a dictionary lookup', sql: "SELECT dictGet('d', 'a', 1)", code: 446, status: 403 },
  { name: 'a column of another table by name', sql: "SELECT hasColumnInTable('system', 'one', 'dummy')", code: 446, status: 403 },
  { name: 'sleep', sql: 'SELECT sleep(3)', code: 446, status: 403 },
  { name: 'an AI function that calls out to the network', sql: "SELECT aiGenerate('x')", code: 446, status: 403 },
  { name: 'a model evaluation that loads a file', sql: "SELECT catboostEvaluate('${FILE}', 1)", code: 446, status: 403 },
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
    writeFileSync(SECRET_FILE, `${SECRET_MARKER}\tsecond-column\n${SECRET_MARKER}\n`)
    listener = createServer((_req, res) => {
      listenerHits++
      res.end(`${SECRET_MARKER}\n1\n`)
    })
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
    listenerPort = (listener.address() as AddressInfo).port
    server = await startTestServer()
    const answer = await server.write(server.snappy.compress(encodeRw1(seriesBatch('sql_metric', T0, SEEDED))))
    expect(answer.status).toBe(204)
    expect(await server.waitForNumber('SELECT count() FROM samples', SEEDED)).toBe(SEEDED)
    tablesBefore = await server.sql('SHOW TABLES')
  })

  afterAll(async () => {
    await server?.stop()
    await new Promise((resolve) => listener?.close(resolve))
    rmSync(secretDir, { recursive: true, force: true })
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

  it.each(HOSTILE)('refuses $name (ClickHouse error $code), never echoing the file or reaching the host', async ({ sql, code, status }) => {
    const statement = sql.replaceAll('${FILE}', SECRET_FILE).replaceAll('${PORT}', String(listenerPort))
    for (const request of [{ query: statement }, { body: statement }]) {
      const answer = await sqlRequest(request)
      expect({ status: answer.status, code: answer.headers.get('x-clickhouse-exception-code') }).toEqual({ status, code: String(code) })
      expect(answer.text).toMatch(new RegExp(`^Code: ${code}\\. DB::Exception: `))
      expect(answer.text).not.toContain(SECRET_MARKER)
    }
    expect(listenerHits).toBe(0)
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
