/**
 * Prometheus's PromQL test files (v3.5.5, promqlTestDataDir()) through the real storage
 * path: every `load` is written into the embedded ClickHouse by the write path's
 * SampleStore, every selector is read back by the ClickHouse Querier. Fails when a file
 * passes fewer evals or fails more than query/promqltest-baseline.json records (the
 * ClickHouse path's own baseline; promql/promqltest/baseline.json is the in-memory one).
 * Raise it when things get better:
 *   UPDATE_PROMQL_BASELINE=1 npx vitest run test/integration/query-promqltest.test.ts
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runTestFile } from '../../promql/promqltest/runner.js'
import { ClickHouseTestStorage } from '../../query/promqltest-storage.js'
import { promqlTestDataDir } from '../../promql/promqltest/data-dir.js'

const here = dirname(fileURLToPath(import.meta.url))
const dataDir = promqlTestDataDir()
const baselinePath = resolve(here, '../../query/promqltest-baseline.json')
type Counts = { passed: number; failed: number; unsupported: number }
const baseline = JSON.parse(readFileSync(baselinePath, 'utf8')) as Record<string, Counts>
const files = existsSync(dataDir) ? readdirSync(dataDir).filter((f) => f.endsWith('.test')).sort() : []
const results: Record<string, Counts> = {}
let storage: ClickHouseTestStorage

beforeAll(async () => {
  storage = await ClickHouseTestStorage.open()
})

afterAll(async () => {
  await storage?.close()
  if (process.env.UPDATE_PROMQL_BASELINE) writeFileSync(baselinePath, JSON.stringify(results, null, 2) + '\n')
})

describe('PromQL conformance through ClickHouse (promqltest files, embedded store)', () => {
  it('finds the test files and a baseline entry for each', () => {
    expect(files.length, `no .test files in ${dataDir}`).toBeGreaterThan(0)
    for (const f of files) expect(baseline[f], `query/promqltest-baseline.json has no entry for ${f}`).toBeDefined()
  })

  // About 100 s for all files on 2 cores: every selector is two ClickHouse queries.
  it.each(files)(
    '%s passes at least as many evals as the baseline',
    async (file) => {
      const r = await runTestFile(readFileSync(join(dataDir, file), 'utf8'), { storage, fileName: file })
      results[file] = { passed: r.passed, failed: r.failed, unsupported: r.unsupported }
      const failures = r.evals.filter((e) => e.outcome === 'failed').map((e) => `line ${e.line}: ${e.query}: ${e.message}`)
      const base = baseline[file]
      expect(r.passed, `passed dropped below baseline; failures:\n${failures.join('\n')}`).toBeGreaterThanOrEqual(base.passed)
      expect(r.failed, `failed rose above baseline:\n${failures.join('\n')}`).toBeLessThanOrEqual(base.failed)
    },
    240_000,
  )
})
