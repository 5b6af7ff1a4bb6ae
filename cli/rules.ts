/**
 * `metrichouse rules lint|test|compile`: the rule-file tools for CI. Exit status: 0 clean,
 * 1 problems found (or tests failed), 2 usage or I/O error.
 */
import { UsageError } from './rules-args.js'

const USAGE = `Usage:
  metrichouse rules lint [--url URL [--bearer-token-file FILE] [--lookback 30d] [--backtest 7d]] [--format text|json|github] [--fail-on error|warning|info] [--config FILE] FILES|DIRS...
  metrichouse rules test [--junit FILE] [--run REGEX] [--storage memory|clickhouse] TEST_FILES...
  metrichouse rules compile [--format text|json] [--time T] FILES|DIRS...

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
        return await (await import('./rules-lint.js')).rulesLint(rest)
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
    // The query endpoint of `rules lint --url` failed or refused: an I/O error, not a finding.
    if ((err as Error).name === 'QueryEndpointError') {
      process.stderr.write(`metrichouse rules ${sub}: ${(err as Error).message}\n`)
      return 2
    }
    throw err
  }
}
