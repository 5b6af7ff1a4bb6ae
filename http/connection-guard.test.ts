import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { connectionCap, descriptorLimit } from './connection-guard.js'
import { InFlightBudget } from './in-flight-budget.js'

describe('connectionCap', () => {
  const cases = [
    { name: 'derives the cap from the limit, keeping a quarter for the WAL and ClickHouse', configured: 0, limit: 20_000, cap: 15_000 },
    { name: 'keeps at least 512 descriptors free', configured: 0, limit: 1024, cap: 512 },
    { name: 'takes a configured cap below the ceiling', configured: 100, limit: 20_000, cap: 100 },
    { name: 'never lets a configured cap eat the headroom', configured: 50_000, limit: 20_000, cap: 15_000 },
    { name: 'leaves at least 16 connections on a tiny limit', configured: 0, limit: 256, cap: 16 },
  ]
  for (const c of cases) it(c.name, () => expect(connectionCap(c.configured, c.limit)).toBe(c.cap))
})

describe('descriptorLimit', () => {
  it('reads the soft limit of open files from a limits file, and falls back to 1024', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'metrichouse-limits-'))
    try {
      const file = join(dir, 'limits')
      await writeFile(file, 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            4096                 8192                 files     \n')
      expect(descriptorLimit(file)).toBe(4096)
      expect(descriptorLimit(join(dir, 'missing'))).toBe(1024)
      expect(descriptorLimit()).toBeGreaterThan(0)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('InFlightBudget', () => {
  it('refuses a grow past the budget while others hold bytes, and gives everything back on release', () => {
    const budget = new InFlightBudget(100)
    const a = budget.lease()
    const b = budget.lease()
    expect(a.grow(60)).toBe(true)
    expect(b.grow(50)).toBe(false)
    expect(b.grow(40)).toBe(true)
    expect(budget.usedBytes).toBe(100)
    a.release()
    a.release()
    expect(budget.usedBytes).toBe(40)
    expect(a.grow(1)).toBe(false)
    b.release()
    expect(budget.usedBytes).toBe(0)
  })

  it('lets a single request past the budget when nothing else is in flight (its own size limits bound it)', () => {
    const budget = new InFlightBudget(100)
    const a = budget.lease()
    expect(a.grow(80)).toBe(true)
    expect(a.grow(80)).toBe(true)
    expect(budget.lease().grow(1)).toBe(false)
    a.release()
    expect(budget.usedBytes).toBe(0)
  })
})
