import { describe, expect, it } from 'vitest'
import { limitSettings, settingsClause } from './clickhouse-limits.js'

describe('limitSettings', () => {
  const cases = [
    {
      name: 'rounds the time up to whole seconds and spills aggregation and sort from half the memory',
      limits: { maxExecutionTimeMs: 30_500, maxMemoryBytes: 512 * 1024 * 1024 },
      clause:
        " SETTINGS max_execution_time = 31, timeout_overflow_mode = 'throw', max_memory_usage = 536870912, max_bytes_before_external_group_by = 268435456, max_bytes_before_external_sort = 268435456",
    },
    {
      name: 'never sends a zero time (which ClickHouse reads as no limit)',
      limits: { maxExecutionTimeMs: 1, maxMemoryBytes: 2 },
      clause: " SETTINGS max_execution_time = 1, timeout_overflow_mode = 'throw', max_memory_usage = 2, max_bytes_before_external_group_by = 1, max_bytes_before_external_sort = 1",
    },
    {
      name: 'bounds the rows returned when asked',
      limits: { maxExecutionTimeMs: 1000, maxMemoryBytes: 100, maxResultRows: 10 },
      clause:
        " SETTINGS max_execution_time = 1, timeout_overflow_mode = 'throw', max_memory_usage = 100, max_bytes_before_external_group_by = 50, max_bytes_before_external_sort = 50, max_result_rows = 10, result_overflow_mode = 'throw'",
    },
  ]
  for (const c of cases) it(c.name, () => expect(settingsClause(limitSettings(c.limits))).toBe(c.clause))
})

describe('settingsClause', () => {
  it('refuses a setting name or value that is not plain', () => {
    expect(() => settingsClause({ "x'; DROP": 1 })).toThrow(/invalid setting name/)
    expect(() => settingsClause({ max_memory_usage: 1.5 })).toThrow(/non-negative integer/)
    expect(settingsClause({})).toBe('')
  })
})
