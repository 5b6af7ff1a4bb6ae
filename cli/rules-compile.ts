/** `metrichouse rules compile FILES...`: per rule, the ClickHouse statements its evaluation runs (rules-compiler/compile.ts). */
import { parseToolArgs, UsageError } from './rules-args.js'

export async function rulesCompile(argv: string[]): Promise<number> {
  const { values, positionals } = parseToolArgs(argv, { format: { type: 'string' }, time: { type: 'string' } })
  if (values.help) {
    process.stdout.write('Usage: metrichouse rules compile [--format text|json] [--time RFC3339|UNIX_SECONDS] FILES|DIRS...\n')
    return 0
  }
  const evaluationTime = parseTime(values.time as string | undefined)
  const format = (values.format as string | undefined) ?? 'text'
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, not "${format}"`)
  if (positionals.length === 0) throw new UsageError('no rule files given')
  const { expandInputs, InputError } = await import('../rules-compiler/lint.js')
  const { loadRuleFile } = await import('../rules-compiler/rule-file.js')
  const { compileGroups, formatPlansText } = await import('../rules-compiler/compile.js')
  let files: string[]
  try {
    files = expandInputs(positionals)
  } catch (err) {
    if (!(err instanceof InputError)) throw err
    process.stderr.write(`metrichouse rules compile: ${err.message}\n`)
    return 2
  }
  const loaded = files.map(loadRuleFile)
  const problems = loaded.flatMap((l) => l.problems.filter((p) => p.severity === 'error'))
  for (const p of problems) process.stderr.write(`${p.file}:${p.line}:${p.column}: ${p.message}\n`)
  if (problems.some((p) => p.check === 'io')) return 2
  const plans = compileGroups(loaded.flatMap((l) => l.groups), { evaluationTime })
  process.stdout.write(format === 'json' ? JSON.stringify(plans, null, 2) + '\n' : formatPlansText(plans))
  return problems.length > 0 || plans.some((p) => p.error) ? 1 : 0
}

/** The evaluation time the printed parameters are for: RFC 3339 or Unix seconds, as the query API takes; default now. */
function parseTime(text: string | undefined): number {
  if (text === undefined) return Date.now()
  const ms = /^-?[0-9]+(\.[0-9]+)?$/.test(text) ? Math.round(Number(text) * 1000) : Date.parse(text)
  if (!Number.isFinite(ms)) throw new UsageError(`--time must be RFC 3339 or Unix seconds, not "${text.slice(0, 40)}"`)
  return ms
}
