/**
 * What compiled PromQL statements need beyond the limits every statement carries
 * (query/clickhouse-limits.ts, the one place for max_execution_time and max_memory_usage).
 */

/** Without it ClickHouse 26.x refuses the timeSeries*ToGrid aggregates. */
export const GRID_AGGREGATES_SETTING = { allow_experimental_time_series_aggregate_functions: 1 } as const

/** The SETTINGS clause a printed statement carries so it runs as is (e.g. pasted into /clickhouse/). */
export const GRID_AGGREGATES_CLAUSE = 'SETTINGS allow_experimental_time_series_aggregate_functions = 1'

/** Most series one compiled subtree returns by default; more is refused (`execution` error). */
export const DEFAULT_MAX_OUTPUT_SERIES = 1_000_000
