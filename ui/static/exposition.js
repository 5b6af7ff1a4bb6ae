// The Prometheus text format of /metrics, parsed into { name, labels, value } samples: enough
// for the status page's figures (no exemplars, no timestamps).
export function parseExposition(text) {
  const samples = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line)
    if (!m) continue
    const labels = {}
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c))
    samples.push({ name: m[1], labels, value: Number(m[4]) })
  }
  return samples
}

/** Sum of a metric's samples whose labels match, or undefined when the role does not export it. */
export function sum(samples, name, match = {}) {
  let total
  for (const s of samples) {
    if (s.name !== name) continue
    if (!Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue
    total = (total ?? 0) + s.value
  }
  return total
}
