/** `metrichouse rules lint FILES|DIRS...`: the checks of rules-compiler/ over rule files, as text, JSON or GitHub annotations. */
import { readFileSync, writeFileSync } from 'node:fs'
import { parseToolArgs, UsageError } from './rules-args.js'

const LINT_USAGE = `Usage: metrichouse rules lint [--format text|json|github] [--fail-on error|warning|info] [--config FILE] [--output FILE]
         [--url URL [--bearer-token-file FILE | --basic-auth-username USER --basic-auth-password-file FILE] [--lookback 30d] [--backtest 7d]] FILES|DIRS...
--url      also check the rules against the data of a metrichouse (or Prometheus) query endpoint
--backtest how often each alert would have fired over that window of stored history
`

export async function rulesLint(argv: string[]): Promise<number> {
  const { values, positionals } = parseToolArgs(argv, {
    format: { type: 'string' },
    'fail-on': { type: 'string' },
    config: { type: 'string' },
    output: { type: 'string' },
    url: { type: 'string' },
    'bearer-token-file': { type: 'string' },
    'basic-auth-username': { type: 'string' },
    'basic-auth-password-file': { type: 'string' },
    lookback: { type: 'string' },
    backtest: { type: 'string' },
  })
  if (values.help) {
    process.stdout.write(LINT_USAGE)
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
  if (values.backtest && !values.url) throw new UsageError('--backtest needs --url')
  const data = values.url ? await dataOptions(values) : undefined
  if (data) config = { ...config, metricTypes: await data.client.metricTypes() }
  const problems = lintFiles(files, config)
  // A file that cannot be read is an I/O error (2), not a finding.
  const io = problems.filter((p) => p.check === 'io')
  let backtestRows
  if (data) {
    const { loadRuleFile } = await import('../rules-compiler/rule-file.js')
    const { checkAgainstData } = await import('../rules-compiler/data-checks.js')
    const groups = files.flatMap((f) => loadRuleFile(f).groups)
    const now = Date.now()
    problems.push(...(await checkAgainstData(groups, { client: data.client, nowMs: now, lookbackMs: data.lookbackMs })))
    problems.sort((a, b) => (a.file === b.file ? a.line - b.line || a.column - b.column : a.file < b.file ? -1 : 1))
    if (data.backtestMs !== undefined) {
      const { backtest } = await import('../rules-compiler/backtest.js')
      backtestRows = await backtest(groups, { client: data.client, startMs: now - data.backtestMs, endMs: now, defaultIntervalMs: 60_000 })
    }
  }
  let report = formatProblems(problems, format as 'text' | 'json' | 'github', files.length)
  if (backtestRows && format === 'json') report = JSON.stringify({ ...(JSON.parse(report) as object), backtest: backtestRows }, null, 2) + '\n'
  else if (backtestRows) report += '\n' + (await import('../rules-compiler/backtest.js')).formatBacktest(backtestRows, values.backtest as string)
  if (values.output) writeFileSync(values.output as string, report)
  else process.stdout.write(report)
  if (io.length > 0) return 2
  const threshold = SEVERITY_RANK[failOn as 'error' | 'warning' | 'info']
  return problems.some((p) => SEVERITY_RANK[p.severity] >= threshold) ? 1 : 0
}

/** --url and its options: the endpoint client, the lookback for series and the backtest window. */
async function dataOptions(values: Record<string, string | boolean | undefined>) {
  const { QueryClient } = await import('../rules-compiler/query-client.js')
  const { parseDuration } = await import('../rules-compiler/duration.js')
  const duration = (flag: string, fallback?: string): number | undefined => {
    const text = (values[flag] as string | undefined) ?? fallback
    if (text === undefined) return undefined
    try {
      return parseDuration(text)
    } catch (err) {
      throw new UsageError(`--${flag}: ${(err as Error).message}`)
    }
  }
  const secret = (flag: string): string | undefined => {
    const file = values[flag] as string | undefined
    if (file === undefined) return undefined
    try {
      return readFileSync(file, 'utf8').trim()
    } catch (err) {
      throw new UsageError(`--${flag}: ${(err as Error).message}`)
    }
  }
  const url = values.url as string
  if (!/^https?:\/\//.test(url)) throw new UsageError(`--url must be an http(s) URL, not "${url}"`)
  const username = values['basic-auth-username'] as string | undefined
  const client = new QueryClient({
    url,
    bearerToken: secret('bearer-token-file'),
    basicAuth: username !== undefined ? { username, password: secret('basic-auth-password-file') ?? '' } : undefined,
  })
  return { client, lookbackMs: duration('lookback', '30d')!, backtestMs: duration('backtest') }
}
