/**
 * Prometheus's duration notation (`1h30m`, `5m`, `90s`, `0`): units y w d h m s ms, each at
 * most once and largest first, integers only. The same grammar rule files and `promtool`
 * accept (a `1.5m` or `5 m` is an error there too).
 */
const UNITS: readonly (readonly [string, number])[] = [
  ['y', 365 * 24 * 3600_000],
  ['w', 7 * 24 * 3600_000],
  ['d', 24 * 3600_000],
  ['h', 3600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
]

const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/

export class DurationError extends Error {
  override readonly name = 'DurationError'
}

/** Milliseconds of a Prometheus duration; throws DurationError naming the bad text. */
export function parseDuration(text: string): number {
  if (text === '') throw new DurationError('empty duration string')
  if (text === '0') return 0
  const m = DURATION.exec(text)
  if (m === null) throw new DurationError(`not a valid duration string: "${text.slice(0, 40)}"`)
  let ms = 0
  for (let i = 0; i < UNITS.length; i++) {
    const digits = m[i + 1]
    if (digits !== undefined) ms += Number(digits) * UNITS[i]![1]
  }
  if (!Number.isSafeInteger(ms)) throw new DurationError(`duration out of range: "${text.slice(0, 40)}"`)
  return ms
}

/** The shortest Prometheus notation for `ms` (0 -> "0s"), as Prometheus prints durations. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s'
  let rest = ms
  let out = ''
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size)
    if (n > 0) {
      out += `${n}${unit}`
      rest -= n * size
    }
  }
  return out
}
