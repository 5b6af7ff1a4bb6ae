/**
 * Runs Prometheus's PromQL test files (v3.5.5, promqlTestDataDir()) through the engine and
 * the in-memory storage, and fails when any file passes fewer evals or fails more than the
 * checked-in baseline (baseline.json). Raise the baseline when the engine gets better:
 *   UPDATE_PROMQL_BASELINE=1 npx vitest run promql/promqltest/conformance.test.ts
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { memoryStorage } from './memory-storage.js'
import { runTestFile, type FileResult } from './runner.js'
import { promqlTestDataDir } from './data-dir.js'

const here = dirname(fileURLToPath(import.meta.url))
const dataDir = promqlTestDataDir()
const baselinePath = join(here, 'baseline.json')
type Counts = { passed: number; failed: number; unsupported: number }
const baseline = JSON.parse(readFileSync(baselinePath, 'utf8')) as Record<string, Counts>
const files = existsSync(dataDir) ? readdirSync(dataDir).filter((f) => f.endsWith('.test')).sort() : []
const results: Record<string, Counts> = {}

describe('PromQL conformance (Prometheus promqltest files, in-memory storage)', () => {
  it('finds the test files and a baseline entry for each', () => {
    expect(files.length, `no .test files in ${dataDir}`).toBeGreaterThan(0)
    for (const f of files) expect(baseline[f], `baseline.json has no entry for ${f}`).toBeDefined()
  })

  it.each(files)('%s passes at least as many evals as the baseline', async (file) => {
    const r: FileResult = await runTestFile(readFileSync(join(dataDir, file), 'utf8'), { storage: memoryStorage(), fileName: file })
    results[file] = { passed: r.passed, failed: r.failed, unsupported: r.unsupported }
    const failures = r.evals.filter((e) => e.outcome === 'failed').map((e) => `line ${e.line}: ${e.query}: ${e.message}`)
    const base = baseline[file]
    expect(r.passed, `passed dropped below baseline; failures:\n${failures.join('\n')}`).toBeGreaterThanOrEqual(base.passed)
    expect(r.failed, `failed rose above baseline:\n${failures.join('\n')}`).toBeLessThanOrEqual(base.failed)
  })

  afterAll(() => {
    if (process.env.UPDATE_PROMQL_BASELINE) writeFileSync(baselinePath, JSON.stringify(results, null, 2) + '\n')
  })
})
