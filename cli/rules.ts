/**
 * `metrichouse rules lint|test|compile`: the rule-file tools for CI. Exit status: 0 clean,
 * 1 problems found (or tests failed), 2 usage or I/O error.
 */
import { parseArgs } from 'node:util'
import { writeFileSync } from 'node:fs'

const USAGE = `Usage:
  metrichouse rules lint [--format text|json|github] [--fail-on error|warning|info] [--config FILE] FILES|DIRS...
  metrichouse rules test [--junit FILE] [--run REGEX] [--storage clickhouse|memory] TEST_FILES...
  metrichouse rules compile [--format text|json] FILES|DIRS...

lint     checks rule files (plain or Kubernetes PrometheusRule) as promtool does and more; docs/rules.md lists the checks
test     runs unit tests in promtool's format (rule_files, input_series, alert_rule_test, promql_expr_test)
compile  prints, for each rule, the tables and tiers read and the SQL that runs
Exit status: 0 clean, 1 problems found / tests failed, 2 usage or I/O error.
`

export async function rules(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  try {
    switch (sub) {
      case 'lint':
        return await lint(rest)
      case 'test':
        return await (await import('./rules-test.js')).rulesTest(rest)
      case 'compile':
        return await (await import('./rules-compile.js')).rulesCompile(rest)
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(USAGE)
        return 0
      default:
        process.stderr.write(`metrichouse rules: ${sub === undefined ? 'missing subcommand' : `unknown subcommand "${sub}"`}\n${USAGE}`)
        return 2
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`metrichouse rules ${sub}: ${err.message}\n`)
      return 2
    }
    throw err
  }
}

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export function parseToolArgs<T extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

async function lint(argv: string[]): Promise<number> {
  const { values, positionals } = parseToolArgs(argv, {
    format: { type: 'string' },
    'fail-on': { type: 'string' },
    config: { type: 'string' },
    output: { type: 'string' },
  })
  if (values.help) {
    process.stdout.write(USAGE)
    return 0
  }
  const format = (values.format as string | undefined) ?? 'text'
  if (!['text', 'json', 'github'].includes(format)) throw new UsageError(`--format must be text, json or github, not "${format}"`)
  const failOn = (values['fail-on'] as string | undefined) ?? 'error'
  if (!['error', 'warning', 'info'].includes(failOn)) throw new UsageError(`--fail-on must be error, warning or info, not "${failOn}"`)
  if (positionals.length === 0) throw new UsageError('no rule files given')

  const { expandInputs, lintFiles, InputError } = await import('../rules-compiler/lint.js')
  const { defaultLintConfig, loadLintConfig, LintConfigError } = await import('../rules-compiler/lint-config.js')
  const { formatProblems } = await import('../rules-compiler/report.js')
  const { SEVERITY_RANK } = await import('../rules-compiler/problem.js')
  let files: string[]
  let config
  try {
    config = values.config ? loadLintConfig(values.config as string) : defaultLintConfig()
    files = expandInputs(positionals)
  } catch (err) {
    if (err instanceof InputError || err instanceof LintConfigError) {
      process.stderr.write(`metrichouse rules lint: ${err.message}\n`)
      return 2
    }
    throw err
  }
  const problems = lintFiles(files, config)
  // A file that cannot be read is an I/O error (2), not a finding.
  const io = problems.filter((p) => p.check === 'io')
  const report = formatProblems(problems, format as 'text' | 'json' | 'github', files.length)
  if (values.output) writeFileSync(values.output as string, report)
  else process.stdout.write(report)
  if (io.length > 0) return 2
  const threshold = SEVERITY_RANK[failOn as 'error' | 'warning' | 'info']
  return problems.some((p) => SEVERITY_RANK[p.severity] >= threshold) ? 1 : 0
}
