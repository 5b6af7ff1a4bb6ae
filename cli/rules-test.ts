/**
 * `metrichouse rules test FILES...`: promtool-format rule unit tests (rules-test/unit-tests.ts),
 * promtool's output ("Unit Testing: FILE", "SUCCESS" / "FAILED:" with the differences) and exit
 * status (0 all passed, 1 a test failed or a test file is invalid, 2 usage or a file that cannot
 * be read), and `--junit FILE` for CI systems.
 */
import { accessSync, constants, writeFileSync } from 'node:fs'
import type { RuleTestStorage } from '../rules-test/unit-tests.js'
import { parseToolArgs, UsageError } from './rules-args.js'

export async function rulesTest(argv: string[]): Promise<number> {
  const { values, positionals } = parseToolArgs(argv, { junit: { type: 'string' }, run: { type: 'string' }, storage: { type: 'string' } })
  if (values.help) {
    process.stdout.write('Usage: metrichouse rules test [--junit FILE] [--run REGEX] [--storage memory|clickhouse] TEST_FILES...\n')
    return 0
  }
  // In memory by default, as promtool: a unit test needs no database, and ClickHouse per step
  // made kubernetes-mixin's tests 30x slower than promtool. ClickHouse checks the compiled read path.
  const storageKind = (values.storage as string | undefined) ?? 'memory'
  if (storageKind !== 'clickhouse' && storageKind !== 'memory') throw new UsageError(`--storage must be clickhouse or memory, not "${storageKind}"`)
  if (positionals.length === 0) throw new UsageError('no test files given')
  let filter: RegExp | undefined
  try {
    filter = values.run ? new RegExp(values.run as string) : undefined
  } catch (err) {
    throw new UsageError(`--run: ${(err as Error).message}`)
  }
  for (const f of positionals) {
    try {
      accessSync(f, constants.R_OK)
    } catch {
      process.stderr.write(`metrichouse rules test: ${f}: cannot read the file\n`)
      return 2
    }
  }
  const { junitReport } = await import('../rules-test/junit.js')
  const storage = storageKind === 'clickhouse' ? await (await import('../query/promqltest-storage.js')).ClickHouseTestStorage.open() : undefined
  let outcome: Awaited<ReturnType<typeof runAll>>
  try {
    outcome = await runAll(positionals, filter, storage)
  } finally {
    await storage?.close()
  }
  if (values.junit) writeFileSync(values.junit as string, junitReport(outcome.results))
  return outcome.failed ? 1 : 0
}

async function runAll(files: readonly string[], filter: RegExp | undefined, storage: RuleTestStorage | undefined) {
  const { runTestFile } = await import('../rules-test/unit-tests.js')
  const results = []
  let failed = false
  for (const file of files) {
    const started = performance.now()
    const r = await runTestFile(file, filter, storage)
    results.push({ ...r, seconds: (performance.now() - started) / 1000 })
    process.stdout.write(`Unit Testing:  ${file}\n`)
    if (r.error) {
      failed = true
      process.stdout.write(`  FAILED:\n    ${r.error}\n\n`)
      continue
    }
    const failures = r.cases.flatMap((c) => c.failures)
    if (failures.length === 0) {
      process.stdout.write('  SUCCESS\n\n')
    } else {
      failed = true
      process.stdout.write(`  FAILED:\n${failures.map((f) => (f.startsWith('    ') ? f : `    ${f}`)).join('\n')}\n\n`)
    }
  }
  return { results, failed }
}
