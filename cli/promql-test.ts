/**
 * `metrichouse promql-test FILES...`: runs PromQL test files (Prometheus's promqltest
 * format: load / clear / eval) through the real storage path — the data loaded into an
 * embedded ClickHouse in a temporary directory, every selector read back through the
 * ClickHouse Querier — and prints passed / failed / unsupported per file. The last line is
 * `N passed, N failed, N unsupported`; the exit status is 1 when any eval failed, 2 on a
 * usage or I/O error.
 */
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'

const USAGE = `Usage: metrichouse promql-test [--verbose] FILE...

Runs PromQL test files (Prometheus's promqltest format) against the PromQL engine with the
data stored in an embedded ClickHouse, and prints passed / failed / unsupported per file.
  --verbose   also list the unsupported evals and why
Exit status: 0 all evals passed or unsupported, 1 some eval failed, 2 usage or I/O error.`

export async function promqlTest(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: { verbose: { type: 'boolean', short: 'v' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true })
  } catch (err) {
    process.stderr.write(`metrichouse promql-test: ${(err as Error).message}\n${USAGE}\n`)
    return 2
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  const files = parsed.positionals
  if (files.length === 0) {
    process.stderr.write(`metrichouse promql-test: no test files given\n${USAGE}\n`)
    return 2
  }
  const texts: string[] = []
  for (const file of files) {
    try {
      texts.push(await readFile(file, 'utf8'))
    } catch (err) {
      process.stderr.write(`metrichouse promql-test: cannot read ${file}: ${(err as Error).message}\n`)
      return 2
    }
  }
  // Loaded here: the embedded engine takes a second to load, --help should not wait.
  const { ClickHouseTestStorage } = await import('../query/promqltest-storage.js')
  const { runTestFile } = await import('../promql/promqltest/runner.js')
  const { TestFileSyntaxError } = await import('../promql/promqltest/test-file.js')
  const storage = await ClickHouseTestStorage.open()
  const totals = { passed: 0, failed: 0, unsupported: 0 }
  let broken = false
  try {
    for (let i = 0; i < files.length; i++) {
      let result
      try {
        result = await runTestFile(texts[i], { storage, fileName: basename(files[i]) })
      } catch (err) {
        if (!(err instanceof TestFileSyntaxError)) throw err
        process.stdout.write(`${files[i]}: ${err.message}\n`)
        broken = true
        continue
      }
      totals.passed += result.passed
      totals.failed += result.failed
      totals.unsupported += result.unsupported
      process.stdout.write(`${files[i]}: ${result.passed} passed, ${result.failed} failed, ${result.unsupported} unsupported\n`)
      for (const e of result.evals) {
        if (e.outcome === 'failed' || (parsed.values.verbose && e.outcome === 'unsupported')) {
          process.stdout.write(`  ${files[i]}:${e.line}: ${e.outcome}: ${e.query}\n    ${(e.message ?? '').replace(/\n/g, '\n    ')}\n`)
        }
      }
    }
  } finally {
    await storage.close()
  }
  process.stdout.write(`${totals.passed} passed, ${totals.failed} failed, ${totals.unsupported} unsupported\n`)
  if (broken) return 2
  return totals.failed > 0 ? 1 : 0
}
