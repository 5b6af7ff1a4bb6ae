/**
 * Request parameters of the Prometheus HTTP API: timestamps (Unix seconds as a float, or
 * RFC 3339), durations (float seconds or a Prometheus duration such as 1m30s), and the
 * form (URL query plus an application/x-www-form-urlencoded body, repeated keys such as
 * `match[]` kept). Errors are BadDataError, which the API answers as 400 `bad_data`.
 */
import type { Request } from 'express'
import { readBody } from '../http/read-body.js'

export class BadDataError extends Error {
  override name = 'BadDataError'
}

/** Prometheus's own sentinels for "no bound" (what its clients send for an open range). */
export const MIN_TIME_MS = -9223372036854776 // math.MinInt64 / 1000, the time.Unix range in ms
export const MAX_TIME_MS = 9223372036854776

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/
const UNIT_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1]

/** A timestamp parameter -> Unix ms (sub-millisecond digits are dropped, as Prometheus does). */
export function parseTimeParam(text: string, name: string): number {
  if (FLOAT.test(text)) {
    const seconds = Number(text)
    const whole = Math.trunc(seconds)
    const ms = whole * 1000 + Math.round((seconds - whole) * 1000)
    if (Number.isFinite(ms) && Math.abs(ms) <= MAX_TIME_MS) return ms
  }
  const m = RFC3339.exec(text)
  if (m) {
    const base = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8].toUpperCase()}`)
    if (!Number.isNaN(base)) return base + Number((m[7] ?? '').padEnd(3, '0').slice(0, 3) || 0)
  }
  throw new BadDataError(`invalid parameter "${name}": cannot parse "${text}" to a valid timestamp`)
}

/** A duration parameter -> ms. */
export function parseDurationParam(text: string, name: string): number {
  if (FLOAT.test(text)) {
    const ms = Number(text) * 1000
    if (!Number.isFinite(ms) || Math.abs(ms) > MAX_TIME_MS * 1000) {
      throw new BadDataError(`invalid parameter "${name}": cannot parse "${text}" to a valid duration. It overflows int64`)
    }
    return ms
  }
  const m = text === '' || text === '0' ? (text === '0' ? [] : null) : DURATION.exec(text)
  if (m) {
    let ms = 0
    for (let i = 1; i <= 7; i++) if (m[i] !== undefined) ms += Number(m[i]) * UNIT_MS[i - 1]
    return ms
  }
  throw new BadDataError(`invalid parameter "${name}": cannot parse "${text}" to a valid duration`)
}

/** The request's parameters: the URL query, then a form-encoded body (as Go's r.Form). */
export async function requestParams(req: Request, maxBodyBytes = 4 << 20): Promise<URLSearchParams> {
  const url = req.originalUrl ?? req.url
  const q = url.indexOf('?')
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1))
  const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  if (req.method === 'POST' && type === 'application/x-www-form-urlencoded') {
    const body = await readBody(req, maxBodyBytes)
    // Go's ParseForm puts body values before the URL's for the same key.
    const merged = new URLSearchParams(body.toString('utf8'))
    for (const [k, v] of params) merged.append(k, v)
    return merged
  }
  return params
}
