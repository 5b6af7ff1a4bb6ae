/**
 * The user docs stay true: their SQL runs against a real `serve`, their curl examples answer
 * 200 when run by the real curl, and every self-metric docs/operations.md names is exported.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serve, type RunningServe } from '../../cli/serve.js'
import { loadConfig } from '../../config/load.js'
import { silentLogger } from '../../observability/logger.js'
import { encodeWriteRequestV1 } from '../../proto/encode-v1.js'
import { createSnappyCodec } from '../../proto/snappy.js'

const run = promisify(execFile)
const ROOT = path.resolve(import.meta.dirname, '..', '..')
let dir: string
let running: RunningServe
let base: string

function doc(name: string): string {
  return readFileSync(path.join(ROOT, name), 'utf8')
}

function fenced(markdown: string, lang: string): string[] {
  return [...markdown.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1])
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mh-docs-'))
  running = await serve(loadConfig({ flags: { 'data-dir': dir, listen: '127.0.0.1:0', 'flush-interval': '100ms' } }), silentLogger)
  base = `http://127.0.0.1:${running.address.port}`
  const snappy = await createSnappyCodec()
  const now = Date.now()
  const body = snappy.compress(
    encodeWriteRequestV1(
      ['up', 'node_load1'].map((name) => ({
        labels: [
          { name: '__name__', value: name },
          { name: 'instance', value: 'h:9100' },
          { name: 'job', value: 'node' },
        ],
        samples: [{ timestampMs: now - 1000, value: 1 }],
      })),
    ),
  )
  const r = await fetch(`${base}/api/v1/write`, { method: 'POST', body: Buffer.from(body), headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' } })
  expect(r.status).toBe(204)
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const n = await (await fetch(`${base}/clickhouse/?query=${encodeURIComponent('SELECT count() FROM samples')}`)).text()
    if (n.trim() === '2') break
    await new Promise((res) => setTimeout(res, 100))
  }
}, 60_000)

afterAll(async () => {
  await running?.shutdown()
  rmSync(dir, { recursive: true, force: true })
})

describe('docs', () => {
  const statements = ['docs/schema.md', 'docs/sql.md'].flatMap((file) =>
    fenced(doc(file), 'sql').flatMap((block) =>
      block
        .split(/;\s*\n/)
        .map((s) => s.replace(/^--.*$/gm, '').trim())
        .filter(Boolean)
        .map((sql) => ({ file, sql })),
    ),
  )

  it('has SQL examples to check', () => expect(statements.length).toBeGreaterThanOrEqual(3))

  for (const { file, sql } of statements) {
    it(`${file}: runs ${sql.split('\n')[0].slice(0, 60)}`, async () => {
      const r = await fetch(`${base}/clickhouse/`, { method: 'POST', body: sql.replace(/;$/, '') })
      expect(r.status, await r.clone().text()).toBe(200)
      // Rollup rows exist only for closed hours, which data written by this test never is:
      // those examples must run against the real schema; the others must also find rows.
      if (!/\bsamples_1[mh]\b/.test(sql)) expect((await r.text()).trim()).not.toBe('')
    })
  }

  // Run by the real curl (Debian 12's 7.88 refuses raw spaces in a URL), as a user pastes them.
  const curls = ['README.md', 'docs/sql.md', 'docs/query.md'].flatMap((file) =>
    fenced(doc(file), 'sh')
      .flatMap((block) => block.split('\n'))
      .filter((line) => line.startsWith('curl '))
      .map((line) => ({ file, line })),
  )
  it('has curl examples to check', () => expect(curls.length).toBeGreaterThanOrEqual(5))
  for (const { file, line } of curls) {
    it(`${file}: ${line.slice(0, 70)}`, async () => {
      const command = line.replace(/^curl /, 'curl -sS --fail-with-body --max-time 30 ').replaceAll('localhost:9201', base.replace('http://', ''))
      const { stdout } = await run('bash', ['-c', command], { timeout: 60_000 })
      expect(stdout.trim()).not.toBe('')
    })
  }

  it('exports every metric docs/operations.md lists', async () => {
    const exported = await (await fetch(`${base}/metrics`)).text()
    const named = [...doc('docs/operations.md').matchAll(/`(metrichouse_[a-z0-9_]+)(?:\{[^}]*\})?`/g)].map((m) => m[1])
    expect(named.length).toBeGreaterThan(10)
    for (const name of named) expect(exported, name).toMatch(new RegExp(`^(# TYPE )?${name}`, 'm'))
  })
})
