/**
 * Prometheus HTTP API JSON, byte for byte as Prometheus writes it (checked against the
 * Debian 2.42 binary, see query/api-format.test.ts):
 * - sample values are strings: Go's strconv 'f' format with the shortest digits, except
 *   below 1e-6 and from 1e21 up where it switches to 'e' with an exponent of at least two
 *   digits ("1e+21", "1.5e-07"); "+Inf", "-Inf", "NaN"; negative zero is "-0".
 *   JavaScript's Number#toString uses the same shortest digits and the same thresholds,
 *   so only the exponent needs padding.
 * - timestamps are JSON numbers in seconds with the milliseconds as exactly three digits
 *   when not zero ("1.500", "-1.250", "30").
 */
import type { Labels, QueryResult, QueryValue } from '../promql/api.js'

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  if (v === 0) return Object.is(v, -0) ? '-0' : '0'
  const s = String(v)
  const e = s.indexOf('e')
  if (e < 0) return s
  const sign = s[e + 1]
  const digits = s.slice(e + 2)
  return `${s.slice(0, e)}e${sign}${digits.length < 2 ? '0' + digits : digits}`
}

export function formatTimestamp(ms: number): string {
  const negative = ms < 0
  const abs = Math.abs(Math.trunc(ms))
  const seconds = Math.floor(abs / 1000)
  const fraction = abs % 1000
  const text = fraction === 0 ? String(seconds) : `${seconds}.${String(fraction).padStart(3, '0')}`
  return negative ? '-' + text : text
}

function labelsJson(labels: Labels): string {
  return JSON.stringify(labels)
}

function pointJson(t: number, v: number): string {
  return `[${formatTimestamp(t)},"${formatValue(v)}"]`
}

/** The `data` object of a query or query_range answer. */
export function queryDataJson(value: QueryValue): string {
  switch (value.type) {
    case 'scalar':
      return `{"resultType":"scalar","result":${pointJson(value.t, value.v)}}`
    case 'string':
      return `{"resultType":"string","result":[${formatTimestamp(value.t)},${JSON.stringify(value.v)}]}`
    case 'vector':
      return `{"resultType":"vector","result":[${value.samples.map((s) => `{"metric":${labelsJson(s.labels)},"value":${pointJson(s.t, s.v)}}`).join(',')}]}`
    case 'matrix': {
      const parts: string[] = []
      for (const s of value.series) {
        const points: string[] = new Array(s.points.length)
        for (let i = 0; i < s.points.length; i++) points[i] = pointJson(s.points[i].t, s.points[i].v)
        parts.push(`{"metric":${labelsJson(s.labels)},"values":[${points.join(',')}]}`)
      }
      return `{"resultType":"matrix","result":[${parts.join(',')}]}`
    }
  }
}

/** A success envelope around already-encoded `data`; warnings and infos only when present. */
export function successJson(dataJson: string, warnings: readonly string[] = [], infos: readonly string[] = []): string {
  let out = `{"status":"success","data":${dataJson}`
  if (warnings.length > 0) out += `,"warnings":${JSON.stringify(warnings)}`
  if (infos.length > 0) out += `,"infos":${JSON.stringify(infos)}`
  return out + '}'
}

export function queryResultJson(result: QueryResult): string {
  return successJson(queryDataJson(result.value), result.warnings, result.infos)
}

export type ApiErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal' | 'unavailable' | 'not_found'

export function errorJson(type: ApiErrorType, message: string): string {
  return JSON.stringify({ status: 'error', errorType: type, error: message })
}
