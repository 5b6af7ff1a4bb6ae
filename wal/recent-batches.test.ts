import { describe, expect, it } from 'vitest'
import type { SeriesSamples } from '../store/rowbinary-encoder.js'
import { RecentBatches } from './recent-batches.js'

const batch = (n: number): SeriesSamples[] => [{ ref: { id: BigInt(n), metricName: 'm', labels: [] }, samples: [] }]

describe('RecentBatches', () => {
  it('hands each batch over once, by position', () => {
    const recent = new RecentBatches(100)
    recent.put({ segment: 0, offset: 0 }, batch(1), 10)
    recent.put({ segment: 0, offset: 50 }, batch(2), 10)
    expect(recent.take({ segment: 0, offset: 50 })).toEqual(batch(2))
    expect(recent.take({ segment: 0, offset: 50 })).toBeUndefined()
    expect(recent.heldSamples).toBe(10)
  })

  it('holds no more than its limit: the rest is decoded from the log', () => {
    const recent = new RecentBatches(25)
    recent.put({ segment: 0, offset: 0 }, batch(1), 10)
    recent.put({ segment: 0, offset: 1 }, batch(2), 10)
    recent.put({ segment: 0, offset: 2 }, batch(3), 10)
    expect(recent.take({ segment: 0, offset: 2 })).toBeUndefined()
    expect(recent.heldSamples).toBe(20)
  })

  it('drops batches before a flushed position', () => {
    const recent = new RecentBatches(100)
    recent.put({ segment: 0, offset: 0 }, batch(1), 10)
    recent.put({ segment: 1, offset: 0 }, batch(2), 10)
    recent.dropBefore({ segment: 1, offset: 0 })
    expect(recent.take({ segment: 0, offset: 0 })).toBeUndefined()
    expect(recent.take({ segment: 1, offset: 0 })).toEqual(batch(2))
    expect(recent.heldSamples).toBe(0)
  })
})
