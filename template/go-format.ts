/**
 * Go's number formatting, as templates print values: `%v` of a float64 (strconv 'g' with the
 * shortest digits: 1e+06, 123456), `%.4g` (what every humanize function prints), `%f`, `%e`.
 */

/** Go's strconv.FormatFloat(v, 'g', prec, 64); prec -1 = shortest round-trip digits. */
export function formatFloatG(v: number, prec: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  if (v === 0) return Object.is(v, -0) ? '-0' : '0'
  const shortest = prec < 0
  const p = shortest ? undefined : Math.max(prec, 1)
  // Digits and decimal exponent, rounded as asked.
  const exp = (p === undefined ? v.toExponential() : v.toExponential(p - 1)).toLowerCase()
  const [mant, e] = exp.split('e') as [string, string]
  const digits = mant.replace('-', '').replace('.', '').replace(/0+$/, '') || '0'
  const x = Number(e)
  let eprec = p ?? 6
  // Go: with an explicit precision, a number with fewer digits than that prints without exponent sooner.
  if (p !== undefined && eprec > digits.length && digits.length >= x + 1) eprec = digits.length
  if (shortest) eprec = 6
  const sign = v < 0 ? '-' : ''
  if (x < -4 || x >= eprec) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
    const ax = Math.abs(x)
    return `${sign}${m}e${x < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`
  }
  // Plain notation.
  if (x >= digits.length - 1) return sign + digits + '0'.repeat(x - digits.length + 1)
  if (x >= 0) return `${sign}${digits.slice(0, x + 1)}.${digits.slice(x + 1)}`
  return `${sign}0.${'0'.repeat(-x - 1)}${digits}`
}

export function formatFloatF(v: number, prec: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf'
  return v.toFixed(prec)
}

export function formatFloatE(v: number, prec: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf'
  return v.toExponential(prec).replace(/e([+-])(\d)$/, 'e$10$2')
}

/** Go's %q of a string (a double-quoted Go string literal). */
export function quoteGo(s: string): string {
  return JSON.stringify(s).replace(/\\u([0-9a-f]{4})/g, (_, h: string) => `\\x${h.slice(2)}`)
}
