/**
 * Go's float formatting, so values and messages read exactly as Prometheus prints them.
 * formatFloat = strconv.FormatFloat(v, 'f', -1, 64) (the HTTP API's sample values);
 * formatGoG = fmt's %g / %v (annotation texts, printer).
 */

function shortestDigits(v: number): { digits: string; exp: number } {
  // toExponential() without an argument yields the shortest round-trip digits (like Go's -1 precision).
  const [mant, e] = Math.abs(v).toExponential().split('e')
  return { digits: mant.replace('.', ''), exp: Number(e) }
}

function special(v: number): string | undefined {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return undefined
}

/** strconv.FormatFloat(v, 'f', -1, 64) with Prometheus's +Inf/-Inf/NaN spelling. */
export function formatFloat(v: number): string {
  const s = special(v)
  if (s) return s
  if (v === 0) return Object.is(v, -0) ? '-0' : '0'
  const { digits, exp } = shortestDigits(v)
  const sign = v < 0 ? '-' : ''
  const point = exp + 1 // digits before the decimal point
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length)
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`
}

/** fmt.Sprintf("%g", v) / %v for float64 (shortest digits; exponent when exp < -4 or >= 6, as strconv does for shortest). */
export function formatGoG(v: number): string {
  const s = special(v)
  if (s) return s
  if (v === 0) return Object.is(v, -0) ? '-0' : '0'
  const { digits, exp } = shortestDigits(v)
  const sign = v < 0 ? '-' : ''
  if (exp < -4 || exp >= 6) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
    const es = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : String(Math.abs(exp))
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${es}`
  }
  return formatFloat(v)
}
