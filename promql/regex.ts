/**
 * RE2 regular expressions as Prometheus uses them: fully anchored, `.` matches newline
 * (Prometheus compiles `^(?s:<re>)$`). re2js gives RE2 syntax and linear-time matching,
 * so a user's pattern means here what it means in Prometheus.
 */
import { RE2JS } from 're2js'

export interface AnchoredRegex {
  matches(s: string): boolean
  /** Capture groups of a full match (index 0 = whole), or null when it does not match. */
  exec(s: string): { groups: (string | null)[]; named: Record<string, number> } | null
}

// Compiling is far dearer than matching; queries reuse the same few patterns.
const cache = new Map<string, AnchoredRegex>()
const CACHE_MAX = 1000

export function compileAnchored(pattern: string): AnchoredRegex {
  const hit = cache.get(pattern)
  if (hit) return hit
  let re: RE2JS
  try {
    re = RE2JS.compile(`^(?s:${pattern})$`)
  } catch (e) {
    throw new Error(String((e as Error).message ?? e).replace(/^error parsing regexp: /, ''), { cause: e })
  }
  const compiled: AnchoredRegex = {
    matches: (s) => re.matches(s),
    exec: (s) => {
      const m = re.matcher(s)
      if (!m.matches()) return null
      const groups: (string | null)[] = []
      for (let g = 0; g <= m.groupCount(); g++) groups.push(m.group(g))
      return { groups, named: m.namedGroups }
    },
  }
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string)
  cache.set(pattern, compiled)
  return compiled
}
