/**
 * PromQL label matchers -> a ClickHouse WHERE clause over the `series` table, with every
 * user value (label names, values, regexes) bound as a query parameter. The SQL text
 * depends only on the matchers' types and count, never on their names or values: that is
 * what the injection tests check.
 *
 * Semantics that make the translation exact:
 * - `__name__` is the `metric_name` column; every other label is `labels[name]`, and a
 *   Map lookup of an absent key yields '' — Prometheus's "a missing label equals the
 *   empty string".
 * - Prometheus regexes are fully anchored and `.` matches a newline (3.x). ClickHouse's
 *   `match()` is RE2 too but searches, so the pattern is wrapped as `^(?s:...)$`.
 */
import type { LabelMatcher } from '../promql/api.js'

export interface BoundSql {
  sql: string
  params: Record<string, unknown>
}

/** The regex ClickHouse receives for a PromQL regex matcher value. */
export function anchoredRegex(value: string): string {
  return `^(?s:${value})$`
}

/**
 * One conjunction (`AND`) for the matchers of one selector; `prefix` keeps the parameter
 * names of several sets apart. An empty list matches every series.
 */
export function matchersWhere(matchers: readonly LabelMatcher[], prefix = 'm'): BoundSql {
  const clauses: string[] = []
  const params: Record<string, unknown> = {}
  matchers.forEach((m, i) => {
    const valueParam = `${prefix}v${i}`
    let column = 'metric_name'
    if (m.name !== '__name__') {
      const nameParam = `${prefix}n${i}`
      params[nameParam] = m.name
      column = `labels[{${nameParam}:String}]`
    }
    switch (m.type) {
      case '=':
        params[valueParam] = m.value
        clauses.push(`${column} = {${valueParam}:String}`)
        break
      case '!=':
        params[valueParam] = m.value
        clauses.push(`${column} != {${valueParam}:String}`)
        break
      case '=~':
        params[valueParam] = anchoredRegex(m.value)
        clauses.push(`match(${column}, {${valueParam}:String})`)
        break
      case '!~':
        params[valueParam] = anchoredRegex(m.value)
        clauses.push(`NOT match(${column}, {${valueParam}:String})`)
        break
      default:
        throw new Error(`unknown matcher type ${String((m as LabelMatcher).type)}`)
    }
  })
  return { sql: clauses.length === 0 ? '1' : clauses.join(' AND '), params }
}

/** A disjunction of matcher sets (the `match[]` parameters of /api/v1/series and friends). */
export function matcherSetsWhere(sets: readonly (readonly LabelMatcher[])[]): BoundSql {
  if (sets.length === 0) return { sql: '1', params: {} }
  const parts: string[] = []
  const params: Record<string, unknown> = {}
  sets.forEach((set, i) => {
    const bound = matchersWhere(set, `s${i}`)
    parts.push(`(${bound.sql})`)
    Object.assign(params, bound.params)
  })
  return { sql: parts.join(' OR '), params }
}

/**
 * The metric name when a matcher pins it (`__name__="x"`), so the samples query can use
 * the leading column of the primary key directly.
 */
export function pinnedMetricName(matchers: readonly LabelMatcher[]): string | undefined {
  return matchers.find((m) => m.name === '__name__' && m.type === '=')?.value
}
