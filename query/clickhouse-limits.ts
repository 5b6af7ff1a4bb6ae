/**
 * The one place that turns a query's bounds into ClickHouse settings, for every statement
 * metrichouse runs on behalf of a request (PromQL selects, compiled PromQL, rule
 * evaluation, rollup refreshes). ClickHouse enforces them itself: the query stops in the
 * engine, not only in JavaScript. Before, a range query with a 30 s timeout answered after
 * 61 s: the caller gave up at 30 s while chDB computed on (a single-shot chDB query cannot
 * be cancelled from JavaScript) and the next query on that session waited behind it.
 *
 * Embedded, settings must go into the statement text (`settingsClause`): chDB turns a
 * request's settings into session-wide SETs that would leak into later statements.
 */

export interface ClickHouseLimits {
  /** The statement stops with TIMEOUT_EXCEEDED after this (rounded up to whole seconds). */
  maxExecutionTimeMs: number
  /** Memory one statement may take; aggregation and sort spill to disk from half of it. */
  maxMemoryBytes: number
  /** Rows a statement may return; more is TOO_MANY_ROWS_OR_BYTES. Absent: unbounded. */
  maxResultRows?: number
}

/** Setting name -> value, every value a number or a fixed word: nothing from a request. */
export type LimitSettings = Record<string, number | 'throw'>

export function limitSettings(limits: ClickHouseLimits): LimitSettings {
  const memory = Math.max(1, Math.floor(limits.maxMemoryBytes))
  const settings: LimitSettings = {
    max_execution_time: Math.max(1, Math.ceil(limits.maxExecutionTimeMs / 1000)),
    timeout_overflow_mode: 'throw',
    max_memory_usage: memory,
    // Spilling keeps a big GROUP BY or ORDER BY within the bound instead of failing it.
    max_bytes_before_external_group_by: Math.floor(memory / 2),
    max_bytes_before_external_sort: Math.floor(memory / 2),
  }
  if (limits.maxResultRows !== undefined) {
    settings.max_result_rows = Math.max(1, Math.floor(limits.maxResultRows))
    settings.result_overflow_mode = 'throw'
  }
  return settings
}

/** ` SETTINGS a = 1, b = 'throw'`, to append to a SELECT (before any FORMAT clause). */
export function settingsClause(settings: LimitSettings): string {
  const parts = Object.entries(settings).map(([name, value]) => {
    if (!/^[a-z_]+$/.test(name)) throw new Error(`invalid setting name "${name.slice(0, 40)}"`)
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value) || value < 0) throw new Error(`setting ${name}: not a non-negative integer: ${value}`)
      return `${name} = ${value}`
    }
    return `${name} = '${value}'`
  })
  return parts.length === 0 ? '' : ` SETTINGS ${parts.join(', ')}`
}

/** ClickHouse's error codes for a statement stopped by these limits. */
export const LIMIT_ERROR_CODES = {
  timeout: 159, // TIMEOUT_EXCEEDED
  memory: 241, // MEMORY_LIMIT_EXCEEDED
  rows: 396, // TOO_MANY_ROWS_OR_BYTES
} as const
