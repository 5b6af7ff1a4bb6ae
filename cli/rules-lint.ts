/** `metrichouse rules lint FILES|DIRS...`: the checks of rules-compiler/ over rule files, as text, JSON or GitHub annotations. */
import { writeFileSync } from 'node:fs'
import { parseToolArgs, UsageError } from './rules-args.js'

const LINT_USAGE = 'Usage: metrichouse rules lint [--format text|json|github] [--fail-on error|warning|info] [--config FILE] [--output FILE] FILES|DIRS...\n'

export async function rulesLint(argv: string[]): Promise<number> {
  const { values, positionals } = parseToolArgs(argv, {
    format: { type: 'string' },
    'fail-on': { type: 'string' },
    config: { type: 'string' },
    output: { type: 'string' },
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
