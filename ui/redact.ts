/**
 * The configuration as the status page shows it: every value whose key names a secret
 * (password, token, secret, key file contents, credentials) replaced, and passwords inside
 * URLs (`http://user:pass@host`) cut out. Shown to authenticated users only, but a screen
 * is shared and screenshotted: secrets never reach it.
 */
const SECRET_KEY = /password|token|secret|credential|private/i
export const REDACTED = '<redacted>'

export function redactConfig(value: unknown, key = ''): unknown {
  if (value === undefined || value === null) return value
  if (SECRET_KEY.test(key) && !/_?file$/i.test(key)) return value === '' ? '' : REDACTED
  if (Array.isArray(value)) return value.map((v) => redactConfig(v, key))
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redactConfig(v, k)]))
  }
  if (typeof value === 'string') return value.replace(/(\w+:\/\/[^/:@\s]*):[^@/\s]*@/g, `$1:${REDACTED}@`)
  return value
}
