import { describe, expect, it } from 'vitest'
import { firingEpisodes } from './backtest.js'

const m = 60_000
/** Evaluation times (minutes) from a pattern: `x` held, `.` not, one character per minute. */
const held = (pattern: string) => [...pattern].flatMap((c, i) => (c === 'x' ? [i * m] : []))

describe('firingEpisodes: the alert state machine over a backtest', () => {
  it.each([
    ['no for: each run of the condition is one episode', 'xx..x.', 0, 0, [[0, 2], [4, 5]]],
    ['for 2m: fires from the third evaluation, shorter runs stay pending', 'xxxx.xx..', 2 * m, 0, [[2, 4]]],
    ['for longer than every run: never fires', 'xx.xx.', 5 * m, 0, []],
    ['keep_firing_for 2m bridges a gap and holds 2m after the last', 'xx.xx....', 0, 2 * m, [[0, 7]]],
    ['still firing at the end of the window: the episode ends there', '..xxx', 0, 0, [[2, 5]]],
    ['never held: nothing', '.....', 0, 0, []],
  ] as const)('%s', (_name, pattern, forMs, keepMs, expected) => {
    const end = pattern.length * m
    expect(firingEpisodes(held(pattern), m, forMs, keepMs, end).map(([a, b]) => [a / m, b / m])).toEqual(expected)
  })
})
