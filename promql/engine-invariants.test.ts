/**
 * Property tests over generated queries: an instant query must equal the same step of a
 * range query (step invariance, as Prometheus's harness checks), and printing a parsed query
 * must not change its result.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { QueryResult } from './api.js'
import { createEngine } from './engine.js'
import { labelsKey } from './eval/values.js'
import { MemoryQuerier } from './memory-querier.js'
import { parsePromQL } from './parser.js'
import { printExpr } from './printer.js'

const MIN = 60_000
const q = new MemoryQuerier()
for (const [job, inst, f] of [['a', '1', 1], ['a', '2', 3], ['b', '1', 7]] as const) {
  q.add({ __name__: 'req_total', job, instance: inst }, Array.from({ length: 60 }, (_, i) => ({ t: i * 15_000, v: (i % 25) * f })))
  q.add({ __name__: 'temp', job, instance: inst }, Array.from({ length: 40 }, (_, i) => ({ t: i * 20_000 + 7_000, v: Math.sin(i + f) * 10 })))
}

const vectorExpr: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('req_total', 'temp', 'temp{job="a"}', 'req_total{instance=~"1|2"}', 'temp offset 1m', 'req_total @ 300'),
    fc.tuple(fc.constantFrom('rate', 'increase', 'delta', 'irate', 'max_over_time', 'avg_over_time', 'changes', 'deriv', 'last_over_time'), fc.constantFrom('req_total', 'temp'), fc.constantFrom('1m', '2m', '5m'))
      .map(([f, m, r]) => `${f}(${m}[${r}])`),
    fc.tuple(fc.constantFrom('sum', 'max', 'count', 'avg', 'stddev', 'group'), fc.constantFrom('', ' by (job)', ' without (instance)'), tie('v'))
      .map(([a, g, e]) => `${a}${g} (${e})`),
    fc.tuple(tie('v'), fc.constantFrom('+', '*', '>', '< bool', 'and', 'or', 'unless', '/ ignoring (instance)'), tie('v'))
      .map(([l, op, r]) => `(${l}) ${op} (${r})`),
    fc.tuple(tie('v'), fc.constantFrom('+ 1', '* -2', '> 0', '== bool 3')).map(([e, s]) => `(${e}) ${s}`),
    fc.tuple(fc.constantFrom('abs', 'ceil', 'clamp_min', 'timestamp'), tie('v')).map(([f, e]) => (f === 'clamp_min' ? `clamp_min(${e}, 2)` : `${f}(${e})`)),
    fc.tuple(fc.constantFrom('max_over_time', 'sum_over_time', 'count_over_time'), tie('v')).map(([f, e]) => `${f}((${e})[3m:30s])`),
  ),
})).v

function asVector(r: QueryResult): Map<string, number> {
  const out = new Map<string, number>()
  if (r.value.type === 'vector') for (const s of r.value.samples) out.set(labelsKey(s.labels), s.v)
  else if (r.value.type === 'scalar') out.set('', r.value.v)
  return out
}

function sameValues(a: Map<string, number>, b: Map<string, number>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort())
  for (const [k, v] of a) {
    const w = b.get(k)!
    if (Number.isNaN(v)) expect(Number.isNaN(w)).toBe(true)
    else expect(w).toBeCloseTo(v, 9)
  }
}

async function outcome(p: Promise<QueryResult>): Promise<Map<string, number> | string> {
  try { return asVector(await p) } catch (e) { return (e as Error).message }
}

describe('engine invariants over generated queries', () => {
  const engine = createEngine()

  it('an instant query equals the matching step of a range query', async () => {
    await fc.assert(
      fc.asyncProperty(vectorExpr, fc.integer({ min: 0, max: 16 }), async (query, k) => {
        const t = k * 37_000
        const inst = await outcome(engine.instantQuery(q, query, t))
        let rangeRes: QueryResult
        try { rangeRes = await engine.rangeQuery(q, query, t - MIN, t + MIN, MIN) } catch (e) {
          // The range evaluation may fail where the instant one did not (duplicates at another step).
          if (typeof inst === 'string') return
          expect((e as Error).message).toMatch(/same labelset|many-to-many|multiple matches/)
          return
        }
        if (typeof inst === 'string') return
        const mid = new Map<string, number>()
        if (rangeRes.value.type === 'matrix') {
          for (const s of rangeRes.value.series) for (const p of s.points) if (p.t === t) mid.set(labelsKey(s.labels), p.v)
        }
        sameValues(inst, mid)
      }),
      { numRuns: 150 },
    )
  })

  it('printing the parsed query does not change its result', async () => {
    await fc.assert(
      fc.asyncProperty(vectorExpr, async (query) => {
        const printed = printExpr(parsePromQL(query))
        const a = await outcome(engine.instantQuery(q, query, 500_000))
        const b = await outcome(engine.instantQuery(q, printed, 500_000))
        if (typeof a === 'string' || typeof b === 'string') expect(b).toEqual(a)
        else sameValues(a, b)
      }),
      { numRuns: 150 },
    )
  })
})
