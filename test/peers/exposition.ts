/**
 * Reads the Prometheus text exposition that the peers serve on /metrics, enough to pick
 * out one counter or gauge: the tests watch Prometheus's and vmagent's own remote-write
 * metrics to know when their queues have drained.
 */

export interface ExposedSample {
  name: string
  labels: Record<string, string>
  value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

export function parseExposition(text: string): ExposedSample[] {
  const samples: ExposedSample[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const match = LINE.exec(line)
    if (!match) continue
    const labels: Record<string, string> = {}
    for (const label of (match[2] ?? '').matchAll(LABEL)) {
      labels[label[1]] = label[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    }
    samples.push({ name: match[1], labels, value: parseValue(match[3]) })
  }
  return samples
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity
  if (text === '-Inf') return -Infinity
  return Number(text)
}

/** Sum of every sample named `name` whose labels include `match`; undefined when none. */
export function sumOf(samples: ExposedSample[], name: string, match: Record<string, string> = {}): number | undefined {
  let found = false
  let sum = 0
  for (const sample of samples) {
    if (sample.name !== name) continue
    if (!Object.entries(match).every(([key, value]) => sample.labels[key] === value)) continue
    found = true
    sum += sample.value
  }
  return found ? sum : undefined
}

export async function fetchExposition(url: string, headers: Record<string, string> = {}): Promise<ExposedSample[]> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000), headers })
  const text = await response.text()
  if (!response.ok) throw new Error(`${url}: status ${response.status}: ${text.slice(0, 200)}`)
  return parseExposition(text)
}
