/**
 * `param_<name>` values of ClickHouse's HTTP interface arrive serialised in the text format
 * of their declared type (a String with backslash escapes: `it\'s`). The client that runs
 * the query serialises JavaScript values itself, so String values are turned back into
 * plain strings first; values of other types (numbers, dates, arrays) pass through as
 * their text, which the client forwards unchanged.
 */

const STRING_TYPE = /^\s*(?:Nullable\(|LowCardinality\()*\s*(?:String|FixedString\(\s*\d+\s*\))\s*\)*\s*$/

/** The declared type of each `{name:Type}` placeholder in the SQL. */
export function placeholderTypes(sql: string): Map<string, string> {
  const types = new Map<string, string>()
  for (const m of sql.matchAll(/\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^{}]+?)\s*\}/g)) types.set(m[1], m[2])
  return types
}

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', r: '\r', n: '\n', t: '\t', '0': '\0', a: '\x07', v: '\v', '\\': '\\', "'": "'", '"': '"', '`': '`', '/': '/', '=': '=' }

/** Reverses ClickHouse's escaping of a String in the Escaped (TSV) text format. */
export function unescapeClickHouseString(text: string): string {
  if (!text.includes('\\')) return text
  return text.replace(/\\(x[0-9A-Fa-f]{2}|.)/gs, (_m, e: string) => {
    if (e.length === 3 && e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16))
    return ESCAPES[e] ?? e
  })
}

export function decodeQueryParams(sql: string, raw: Record<string, string>): Record<string, string> {
  const types = placeholderTypes(sql)
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(raw)) {
    const type = types.get(name)
    out[name] = type !== undefined && STRING_TYPE.test(type) ? unescapeClickHouseString(value) : value
  }
  return out
}
