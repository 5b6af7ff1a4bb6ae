import { describe, expect, it } from 'vitest'
import { comparePositions, formatPosition, isWalPosition } from './position.js'

describe('comparePositions', () => {
  const cases = [
    { a: { segment: 0, offset: 0 }, b: { segment: 0, offset: 0 }, sign: 0 },
    { a: { segment: 0, offset: 10 }, b: { segment: 0, offset: 9 }, sign: 1 },
    { a: { segment: 1, offset: 0 }, b: { segment: 0, offset: 999_999 }, sign: 1 },
    { a: { segment: 2, offset: 5 }, b: { segment: 3, offset: 0 }, sign: -1 },
  ]
  for (const { a, b, sign } of cases) {
    it(`orders ${formatPosition(a)} against ${formatPosition(b)} as ${sign}`, () => {
      expect(Math.sign(comparePositions(a, b))).toBe(sign)
      expect(Math.sign(comparePositions(b, a))).toBe(-sign || 0)
    })
  }
})

describe('isWalPosition', () => {
  const cases: [unknown, boolean][] = [
    [{ segment: 0, offset: 0 }, true],
    [{ segment: 3, offset: 12 }, true],
    [{ segment: -1, offset: 0 }, false],
    [{ segment: 1.5, offset: 0 }, false],
    [{ segment: '1', offset: 0 }, false],
    [{ segment: 1 }, false],
    [null, false],
  ]
  for (const [value, ok] of cases) {
    it(`says ${ok} for ${JSON.stringify(value)}`, () => expect(isWalPosition(value)).toBe(ok))
  }
})
