import { describe, expect, it } from 'vitest'
import { memoryStorage } from './memory-storage.js'
import { atModifierQuery, runTestFile } from './runner.js'
import { parseTestFile } from './test-file.js'

const FILE = `
load 1m
  metric{a="1"} 0+1x10
  metric{a="2"} 0+2x10
  hist {{schema:0 sum:1 count:1}}

# passes
eval instant at 5m sum(metric)
  {} 15

# fails: wrong value
eval instant at 5m metric{a="1"}
  metric{a="1"} 6

eval range from 0 to 2m step 1m metric{a="2"}
  metric{a="2"} 0 2 4

eval_fail instant at 1m metric + ignoring(a) metric
  expected_fail_message found duplicate series for the match group {} on the right hand-side of the operation: [{__name__="metric", a="1"}, {__name__="metric", a="2"}];many-to-many matching not allowed: matching labels must be unique on one side

eval instant at 1m hist
  {} 1

eval instant at 1m rate(metric[5m])
  expect info regex: might not be a counter
  expect no_warn
  {a="1"} 0.0033333333333333335
  {a="2"} 0.006666666666666667

clear

eval instant at 1m metric
`

describe('promqltest runner', () => {
  it('parses commands with their kinds and lines', () => {
    const cmds = parseTestFile(FILE)
    expect(cmds.map((c) => c.kind)).toEqual(['load', 'eval', 'eval', 'eval', 'eval', 'eval', 'eval', 'clear', 'eval'])
    expect(cmds[0]).toMatchObject({ interval: 60_000, histogramSeries: [{ __name__: 'hist' }] })
    expect(cmds[3]).toMatchObject({ kind: 'eval', instant: false, start: 0, end: 120_000, step: 60_000 })
  })

  it('counts passed, failed and unsupported evals and explains failures', async () => {
    const r = await runTestFile(FILE, { storage: memoryStorage() })
    expect(r.evals.map((e) => [e.line, e.outcome])).toEqual([
      [8, 'passed'], [12, 'failed'], [15, 'passed'], [18, 'passed'], [21, 'unsupported'], [24, 'passed'], [32, 'passed'],
    ])
    expect(r.evals[1].message).toMatch(/expected 6 for \{__name__="metric", a="1"\} but got 5/)
    expect([r.passed, r.failed, r.unsupported]).toEqual([5, 1, 1])
  })

  it('adds @ <eval time> to selectors outside @-subqueries and skips time-dependent functions', () => {
    expect(atModifierQuery('rate(foo[5m]) + bar', 60_000)).toBe('rate(foo[5m] @ 60.000) + bar @ 60.000')
    expect(atModifierQuery('max_over_time(foo[5m:1m])', 60_000)).toBe('max_over_time(foo[5m:1m] @ 60.000)')
    expect(atModifierQuery('time() - foo', 60_000)).toBeUndefined()
  })
})
