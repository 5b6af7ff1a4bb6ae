/**
 * AST -> PromQL text, in Prometheus's canonical spelling (`sum by (a) (x)`, durations as
 * `5m`, label values double-quoted). parsePromQL(printExpr(e)) yields an equal tree.
 */
import type { LabelMatcher } from './api.js'
import type { AtModifier, Expr, VectorSelector } from './ast.js'
import { formatFloat } from './format.js'

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s'
  const sign = ms < 0 ? '-' : ''
  let rest = Math.abs(ms)
  let out = ''
  const units: [string, number][] = [['y', 365 * 86400000], ['w', 7 * 86400000], ['d', 86400000], ['h', 3600000], ['m', 60000], ['s', 1000], ['ms', 1]]
  for (const [u, size] of units) {
    const n = Math.floor(rest / size)
    if (n > 0) { out += `${n}${u}`; rest -= n * size }
  }
  return sign + out
}

function quote(s: string): string {
  return JSON.stringify(s)
}

const PLAIN_LABEL = /^[A-Za-z_][A-Za-z0-9_]*$/
const PLAIN_METRIC = /^[A-Za-z_:][A-Za-z0-9_:]*$/

function labelName(n: string): string {
  return PLAIN_LABEL.test(n) ? n : quote(n)
}

function printMatchers(ms: readonly LabelMatcher[]): string {
  return ms.map((m) => `${labelName(m.name)}${m.type}${quote(m.value)}`).join(', ')
}

function printAt(at: AtModifier | undefined): string {
  if (!at) return ''
  if (at.kind === 'start') return ' @ start()'
  if (at.kind === 'end') return ' @ end()'
  return ` @ ${(at.t / 1000).toFixed(3)}`
}

function printOffset(ms: number): string {
  if (ms === 0) return ''
  return ms < 0 ? ` offset -${formatDuration(-ms)}` : ` offset ${formatDuration(ms)}`
}

function printSelectorBody(s: VectorSelector): string {
  const name = s.name !== undefined && PLAIN_METRIC.test(s.name) ? s.name : undefined
  const rest = s.matchers.filter((m) => !(name !== undefined && m.name === '__name__' && m.type === '=' && m.value === name))
  if (name !== undefined) return rest.length ? `${name}{${printMatchers(rest)}}` : name
  return `{${printMatchers(s.matchers)}}`
}

function grouping(labels: readonly string[]): string {
  return `(${labels.map(labelName).join(', ')})`
}

export function printExpr(e: Expr): string {
  switch (e.type) {
    case 'NumberLiteral':
      return e.duration && Number.isInteger(e.value * 1000) && e.value > 0 ? formatDuration(e.value * 1000) : formatFloat(e.value)
    case 'StringLiteral':
      return quote(e.value)
    case 'VectorSelector':
      return printSelectorBody(e) + printAt(e.at) + printOffset(e.offset)
    case 'MatrixSelector':
      return `${printSelectorBody(e.selector)}[${formatDuration(e.range)}]${printAt(e.selector.at)}${printOffset(e.selector.offset)}`
    case 'SubqueryExpr':
      return `${printExpr(e.expr)}[${formatDuration(e.range)}:${e.step ? formatDuration(e.step) : ''}]${printAt(e.at)}${printOffset(e.offset)}`
    case 'Call':
      return `${e.func}(${e.args.map(printExpr).join(', ')})`
    case 'AggregateExpr': {
      let s = e.op
      if (e.hasGrouping || e.grouping.length) s += ` ${e.without ? 'without' : 'by'} ${grouping(e.grouping)} `
      const args = e.param ? `${printExpr(e.param)}, ${printExpr(e.expr)}` : printExpr(e.expr)
      return `${s}(${args})`
    }
    case 'BinaryExpr': {
      let op: string = e.op
      if (e.returnBool) op += ' bool'
      const m = e.matching
      if (m) {
        if (m.explicit) op += ` ${m.on ? 'on' : 'ignoring'}${grouping(m.labels)}`
        if (m.card === 'many-to-one') op += ` group_left${m.include.length ? grouping(m.include) : ''}`
        if (m.card === 'one-to-many') op += ` group_right${m.include.length ? grouping(m.include) : ''}`
      }
      return `${printExpr(e.lhs)} ${op} ${printExpr(e.rhs)}`
    }
    case 'UnaryExpr':
      return `${e.op}${printExpr(e.expr)}`
    case 'ParenExpr':
      return `(${printExpr(e.expr)})`
  }
}
