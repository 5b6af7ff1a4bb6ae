/**
 * `metrichouse store`: one process owns the embedded engine and serves ClickHouse's HTTP
 * interface read-write to authenticated clients. @clickhouse/client, unchanged, runs
 * queries, commands, inserts with a deduplication token and gets ClickHouse errors.
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MetrichouseRole } from '../peers/metrichouse-role.js'
import { makeTempDir, type TempDir } from '../peers/temp-dir.js'

const USER = 'ingester'
const PASSWORD = 'internal-secret'
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`
let dir: TempDir
let store: MetrichouseRole
let client: ClickHouseClient

beforeAll(async () => {
  dir = await makeTempDir('store-role')
  store = await MetrichouseRole.start({ role: 'store', args: ['--data-dir', `${dir.path}/data`, '--auth-basic-username', USER, '--auth-basic-password', PASSWORD], logDir: dir.path, authorization: AUTH })
  client = createClient({ url: store.url, pathname: '/clickhouse', username: USER, password: PASSWORD, request_timeout: 20_000 })
}, 90_000)

afterAll(async () => {
  await client?.close()
  await store?.dispose()
  await dir?.remove()
})

describe('metrichouse store with @clickhouse/client', () => {
  it('answers ping and a query with bound parameters', async () => {
    expect((await client.ping()).success).toBe(true)
    const rs = await client.query({ query: 'SELECT {a:UInt32} + 1 AS x, {s:String} AS s', query_params: { a: 41, s: "it's" }, format: 'JSONEachRow' })
    expect(await rs.json()).toEqual([{ x: '42', s: "it's" }]) // UInt64, quoted in JSON as a server does
  })

  it('runs DDL and inserts; a repeated insert with the same dedup token is dropped', async () => {
    await client.command({ query: `CREATE TABLE t_dedup (k UInt32, v String) ENGINE = MergeTree ORDER BY k SETTINGS non_replicated_deduplication_window = 100` })
    const rows = [{ k: 1, v: 'a' }, { k: 2, v: 'b' }]
    for (let i = 0; i < 2; i++) {
      await client.insert({ table: 't_dedup', values: rows, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'batch-1' } })
    }
    await client.insert({ table: 't_dedup', values: [{ k: 3, v: 'c' }], format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'batch-2' } })
    const rs = await client.query({ query: 'SELECT count() AS n, sum(k) AS s FROM t_dedup', format: 'JSONEachRow' })
    expect(await rs.json()).toEqual([{ n: '3', s: '6' }])
  })

  it('takes inserts in the other text formats, and TSV with SETTINGS inside the statement', async () => {
    await client.command({ query: 'CREATE TABLE t_formats (k UInt32, v String) ENGINE = MergeTree ORDER BY k SETTINGS non_replicated_deduplication_window = 100' })
    await client.insert({ table: 't_formats', values: [[1, 'x'], [2, 'y']], format: 'JSONCompactEachRow' })
    const tsv = 'INSERT INTO t_formats (k, v) SETTINGS insert_deduplication_token = \'tsv-1\' FORMAT TabSeparated'
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${store.url}/clickhouse/?${new URLSearchParams({ query: tsv })}`, { method: 'POST', body: '3\tz\n', headers: { authorization: AUTH } })
      expect(r.status).toBe(200)
      await r.arrayBuffer()
    }
    const rs = await client.query({ query: 'SELECT groupArray(v) AS vs FROM (SELECT v FROM t_formats ORDER BY k)', format: 'JSONEachRow' })
    expect(await rs.json()).toEqual([{ vs: ['x', 'y', 'z'] }])
  })

  it('reports ClickHouse errors with their codes', async () => {
    const cases = [
      { query: 'SELECT * FROM no_such_table', code: '60' },
      { query: 'SELEC 1', code: '62' },
      { query: 'SELECT unknownFn(1)', code: '46' },
    ]
    for (const c of cases) {
      const err = await client.query({ query: c.query, format: 'JSONEachRow' }).then(
        () => undefined,
        (e: unknown) => e as { code?: string; message: string },
      )
      expect(err, c.query).toBeDefined()
      expect(err?.code, `${c.query}: ${err?.message}`).toBe(c.code)
    }
  })

  it('keeps per-request settings to their request', async () => {
    await expect(client.query({ query: 'SELECT number FROM system.numbers LIMIT 10', format: 'JSONEachRow', clickhouse_settings: { max_result_rows: '5', result_overflow_mode: 'throw' } })).rejects.toThrow(/limit/i)
    const rs = await client.query({ query: 'SELECT count() AS n FROM (SELECT number FROM system.numbers LIMIT 10)', format: 'JSONEachRow' })
    expect(await rs.json()).toEqual([{ n: '10' }])
    const after = await client.query({ query: "SELECT value FROM system.settings WHERE name = 'max_result_rows'", format: 'JSONEachRow' })
    expect(await after.json()).toEqual([{ value: '0' }])
  })

  it('refuses writes with readonly=1 and still answers reads with it', async () => {
    const readOnly = createClient({ url: store.url, pathname: '/clickhouse', username: USER, password: PASSWORD, clickhouse_settings: { readonly: '1' } })
    try {
      await expect(readOnly.command({ query: 'CREATE TABLE t_ro (k UInt8) ENGINE = Memory' })).rejects.toMatchObject({ code: '164' })
      await expect(readOnly.insert({ table: 't_dedup', values: [{ k: 9, v: 'z' }], format: 'JSONEachRow' })).rejects.toMatchObject({ code: '164' })
      const rs = await readOnly.query({ query: 'SELECT count() AS n FROM t_dedup', format: 'JSONEachRow' })
      expect(await rs.json()).toEqual([{ n: '3' }])
    } finally {
      await readOnly.close()
    }
  })

  it('answers 401 without credentials, and bound parameters do not inject SQL', async () => {
    const anonymous = await fetch(`${store.url}/clickhouse/?query=SELECT%201`)
    expect(anonymous.status).toBe(401)
    await anonymous.arrayBuffer()
    const rs = await client.query({ query: 'SELECT count() AS n FROM t_dedup WHERE v = {v:String}', query_params: { v: "a' OR '1'='1" }, format: 'JSONEachRow' })
    expect(await rs.json()).toEqual([{ n: '0' }])
  })

  /**
   * With the store's own credentials, nothing reaches outside the engine: no file, no host,
   * no engine command. `code` is the ClickHouse error each gets.
   */
  const OUTSIDE: { name: string; sql: string; code: string }[] = [
    { name: 'the scalar file()', sql: "SELECT file('/etc/passwd')", code: '446' },
    { name: 'DESCRIBE of the file table function', sql: "DESCRIBE file('/etc/passwd', 'TSVWithNames')", code: '164' },
    { name: 'DESCRIBE of the url table function', sql: "DESCRIBE url('http://127.0.0.1:1/x', 'TSVWithNames')", code: '164' },
    { name: 'INSERT INTO FUNCTION file', sql: "INSERT INTO FUNCTION file('/tmp/metrichouse-store-escape.tsv', 'TSV') SELECT 1", code: '164' },
    { name: 'a table on the File engine', sql: "CREATE TABLE t_file (a String) ENGINE = File(TSV, '/etc/passwd')", code: '497' },
    { name: 'a table on the URL engine', sql: "CREATE TABLE t_url (a String) ENGINE = URL('http://127.0.0.1:1/x', TSV)", code: '497' },
    { name: 'a table made from a table function', sql: "CREATE TABLE t_as AS url('http://127.0.0.1:1/x', 'TSV', 'a String')", code: '164' },
    { name: 'a view over file()', sql: "CREATE VIEW v_file AS SELECT file('/etc/passwd')", code: '446' },
    { name: 'a dictionary over a file', sql: "CREATE DICTIONARY d (a UInt64) PRIMARY KEY a SOURCE(FILE(path '/etc/passwd' format 'TSV')) LAYOUT(FLAT()) LIFETIME(0)", code: '497' },
    { name: 'a backup to a file', sql: "BACKUP TABLE t_dedup TO File('/tmp/metrichouse-store-backup')", code: '164' },
    { name: 'SYSTEM SHUTDOWN', sql: 'SYSTEM SHUTDOWN', code: '497' },
    { name: 'a session-wide SET', sql: 'SET max_threads = 1', code: '164' },
  ]
  for (const c of OUTSIDE) {
    it(`refuses ${c.name} (code ${c.code})`, async () => {
      const r = await fetch(`${store.url}/clickhouse/`, { method: 'POST', body: c.sql, headers: { authorization: AUTH } })
      const text = await r.text()
      expect({ status: r.status, code: r.headers.get('x-clickhouse-exception-code') }).toEqual({ status: c.code === '358' ? 400 : 403, code: c.code })
      expect(text).not.toMatch(/root:/)
    })
  }

  it('serves the system tables to its internal clients, as migrate reads them', async () => {
    const rs = await client.query({ query: "SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = 't_dedup'", format: 'JSONEachRow' })
    expect(await rs.json()).toEqual([{ n: '1' }])
  })

  it('refuses an unknown database and an oddly named setting', async () => {
    const other = createClient({ url: store.url, pathname: '/clickhouse', database: 'elsewhere', username: USER, password: PASSWORD })
    try {
      await expect(other.query({ query: 'SELECT 1', format: 'JSONEachRow' })).rejects.toMatchObject({ code: '81' })
    } finally {
      await other.close()
    }
    const r = await fetch(`${store.url}/clickhouse/?query=SELECT%201&max_threads%3D1%3BDROP=1`, { headers: { authorization: AUTH } })
    expect(r.status).toBe(404)
    expect(await r.text()).toMatch(/UNKNOWN_SETTING/)
  })
})
