/** Parsers for the two unit-bearing value kinds of the config: durations and sizes. */

const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
}

/** Prometheus-style duration ("1h30m", "7d", "500ms") to milliseconds. */
export function parseDurationMs(text: string): number {
  const re = /([0-9]+)(ms|s|m|h|d|w|y)/gy
  let total = 0
  let consumed = 0
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * DURATION_UNITS_MS[m[2]]
    consumed = re.lastIndex
  }
  if (consumed === 0 || consumed !== text.length) throw new Error(`invalid duration "${text.slice(0, 40)}"`)
  return total
}

const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
}

/** An integer byte count, or a string such as "64MiB" or "1GB". */
export function parseSizeBytes(value: number | string): number {
  if (typeof value === 'number') return value
  const m = /^([0-9]+)(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?$/.exec(value)
  if (!m) throw new Error(`invalid size "${value.slice(0, 40)}"`)
  return Number(m[1]) * SIZE_UNITS[m[2] ?? 'B']
}
