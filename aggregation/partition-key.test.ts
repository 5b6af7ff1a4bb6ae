import { describe, expect, it } from 'vitest'
import { Fingerprinter } from '../proto/fingerprint.js'
import { AggregationPartitionKey } from './partition-key.js'
import { parseAggregationRules } from './rules.js'

const fingerprinter = await Fingerprinter.create()

function series(name: string, labels: Record<string, string>) {
  const all = [{ name: '__name__', value: name }, ...Object.entries(labels).map(([n, value]) => ({ name: n, value }))].sort((a, b) => (a.name < b.name ? -1 : 1))
  return { id: fingerprinter.fingerprint(all), labels: all }
}

const RULES = `
- { match: 'cpu', interval: 1m, without: [instance], outputs: [avg] }
- { match: 'cpu', interval: 5m, by: [pool], outputs: [max] }
- { match: 'mem', interval: 1m, without: [instance], outputs: [avg] }
`

describe('AggregationPartitionKey', () => {
  const key = new AggregationPartitionKey(parseAggregationRules(RULES, 'agg.yml'), (l) => fingerprinter.fingerprint(l))
  const cases: { name: string; a: ReturnType<typeof series>; b: ReturnType<typeof series>; same: boolean }[] = [
    { name: 'series of one group share a key', a: series('mem', { instance: 'h1', pool: 'p1', dc: 'x' }), b: series('mem', { instance: 'h2', pool: 'p1', dc: 'x' }), same: true },
    { name: 'different groups may differ', a: series('mem', { instance: 'h1', pool: 'p1', dc: 'x' }), b: series('mem', { instance: 'h1', pool: 'p1', dc: 'y' }), same: false },
    { name: 'two rules on a series: keyed by the labels both group by (pool)', a: series('cpu', { instance: 'h1', pool: 'p1', dc: 'x' }), b: series('cpu', { instance: 'h2', pool: 'p1', dc: 'y' }), same: true },
    { name: 'the metric name is part of the key', a: series('cpu', { instance: 'h1', pool: 'p1' }), b: series('mem', { instance: 'h1', pool: 'p1' }), same: false },
  ]
  for (const c of cases) {
    it(c.name, () => {
      expect(key.keyOf(c.a) === key.keyOf(c.b)).toBe(c.same)
    })
  }

  it('leaves a series no rule matches on its own fingerprint', () => {
    const s = series('disk', { instance: 'h1' })
    expect(key.keyOf(s)).toBe(s.id)
  })
})
