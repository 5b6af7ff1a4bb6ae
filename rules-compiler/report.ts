/** The linter's output formats: text (one line per problem), json, and GitHub workflow annotations. */
import type { Problem } from './problem.js'

export type OutputFormat = 'text' | 'json' | 'github'

export function formatProblems(problems: readonly Problem[], format: OutputFormat, filesChecked: number): string {
  switch (format) {
    case 'json':
      return JSON.stringify({ files: filesChecked, problems }, null, 2) + '\n'
    case 'github':
      // https://docs.github.com/actions/reference/workflow-commands: ::error file=,line=,col=,title=::message
      return problems
        .map((p) => `::${p.severity === 'info' ? 'notice' : p.severity} file=${escapeProperty(p.file)},line=${p.line},col=${p.column},title=${escapeProperty(p.check)}::${escapeData(p.message)}\n`)
        .join('')
    case 'text': {
      const lines = problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.severity}: ${p.message} (${p.check})\n`)
      const count = (s: string) => problems.filter((p) => p.severity === s).length
      lines.push(`${filesChecked} file(s) checked: ${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} info\n`)
      return lines.join('')
    }
  }
}

function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C')
}
