import { describe, expect, it } from 'vitest'
import { MemoryQuerier } from './memory-querier.js'

const hints = (start: number, end: number) => ({ start, end, step: 0, range: 0, lookbackDelta: 300_000 })

describe('MemoryQuerier', () => {
  const q = new MemoryQuerier()
  q.add({ __name__: 'b', job: 'x' }, [{ t: 0, v: 1 }, { t: 10, v: 2 }, { t: 20, v: NaN, stale: true }, { t: 30, v: 4 }])
  q.add({ __name__: 'a', job: 'api-server', empty: '' }, [{ t: 5, v: 7 }])

  it('returns series sorted by labels, samples within [start, end] and stale markers flagged', async () => {
    const got = await q.select([{ type: '=~', name: 'job', value: 'x|api-server' }], hints(10, 20))
    expect(got).toEqual([{ labels: { __name__: 'b', job: 'x' }, timestamps: [10, 20], values: [2, NaN], stale: [0, 1] }])
    const all = await q.select([{ type: '!=', name: 'job', value: '' }], hints(0, 100))
    expect(all.map((s) => s.labels.__name__)).toEqual(['a', 'b'])
  })

  it('anchors regular expressions and treats a missing label as empty', async () => {
    expect(await q.select([{ type: '=~', name: 'job', value: 'api' }], hints(0, 100))).toEqual([])
    expect((await q.select([{ type: '=', name: 'empty', value: '' }, { type: '=', name: '__name__', value: 'a' }], hints(0, 100))).length).toBe(1)
  })

  it('records what the engine asked for', () => {
    expect(q.selects.length).toBeGreaterThan(0)
    expect(q.selects[0].hints).toMatchObject({ start: 10, end: 20 })
  })
})
