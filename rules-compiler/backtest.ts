/**
 * `rules lint --backtest 7d`: how often each alert would have fired over the stored history.
 * The alert's expression is evaluated at its group's interval over the window (range queries,
 * so the same engine and lookback as the ruler), and each series goes through the alert state
 * machine: pending while the condition holds for less than `for`, firing after, resolved at the
 * first evaluation without it (or `keep_firing_for` later).
 */
import type { QueryClient } from './query-client.js'
import type { RuleGroupDefinition } from './rule-file.js'

export interface BacktestRow {
  file: string
  group: string
  alert: string
  intervalSeconds: number
  /** Times an alert went to firing (one per series per episode). */
  firingCount: number
  firingSeconds: number
  longestEpisodeSeconds: number
  /** Distinct series that fired. */
  seriesFired: number
  error?: string
}

export interface BacktestOptions {
  client: QueryClient
  startMs: number
  endMs: number
  defaultIntervalMs: number
}

/** Prometheus's API refuses more than 11,000 points per series: query in pieces below that. */
const MAX_STEPS_PER_QUERY = 10_000

export async function backtest(groups: readonly RuleGroupDefinition[], opts: BacktestOptions): Promise<BacktestRow[]> {
  const rows: BacktestRow[] = []
  for (const g of groups) {
    const intervalMs = g.intervalMs || opts.defaultIntervalMs
    for (const rule of g.rules) {
      if (rule.kind !== 'alert') continue
      const row: BacktestRow = { file: g.file, group: g.name.value, alert: rule.name.value, intervalSeconds: intervalMs / 1000, firingCount: 0, firingSeconds: 0, longestEpisodeSeconds: 0, seriesFired: 0 }
      try {
        const present = await presence(opts.client, rule.expr.value, opts.startMs, opts.endMs, intervalMs)
        for (const times of present.values()) {
          const episodes = firingEpisodes(times, intervalMs, rule.forMs, rule.keepFiringForMs, opts.endMs)
          if (episodes.length > 0) row.seriesFired++
          for (const [from, to] of episodes) {
            row.firingCount++
            row.firingSeconds += (to - from) / 1000
            row.longestEpisodeSeconds = Math.max(row.longestEpisodeSeconds, (to - from) / 1000)
          }
        }
      } catch (err) {
        row.error = (err as Error).message
      }
      rows.push(row)
    }
  }
  return rows
}

/** Per result series (by labels), the evaluation times at which the condition held, ascending. */
async function presence(client: QueryClient, expr: string, startMs: number, endMs: number, stepMs: number): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>()
  const first = Math.ceil(startMs / stepMs) * stepMs
  for (let from = first; from <= endMs; from += stepMs * MAX_STEPS_PER_QUERY) {
    const to = Math.min(endMs, from + stepMs * (MAX_STEPS_PER_QUERY - 1))
    for (const s of await client.queryRange(expr, from, to, stepMs)) {
      const key = JSON.stringify(Object.entries(s.metric).filter(([k]) => k !== '__name__').sort())
      let times = out.get(key)
      if (!times) out.set(key, (times = []))
      for (const [t] of s.values) times.push(Math.round(t * 1000))
    }
  }
  return out
}

/**
 * The alert state machine over the times the condition held (evaluations `stepMs` apart): the
 * [start, end) of each firing episode; an episode still firing at `endMs` ends there.
 */
export function firingEpisodes(times: readonly number[], stepMs: number, forMs: number, keepFiringForMs: number, endMs: number): [number, number][] {
  const episodes: [number, number][] = []
  let activeSince: number | undefined
  let firingSince: number | undefined
  let clearedSince: number | undefined
  let k = 0
  for (let t = times[0] ?? Infinity; t <= endMs; ) {
    if (k < times.length && times[k] === t) {
      k++
      clearedSince = undefined
      activeSince ??= t
      if (firingSince === undefined && t - activeSince >= forMs) firingSince = t
    } else if (firingSince !== undefined && t - (clearedSince ??= t) < keepFiringForMs) {
      // keep_firing_for: still firing for that long after the first evaluation without the condition.
    } else {
      if (firingSince !== undefined) episodes.push([firingSince, t])
      activeSince = firingSince = clearedSince = undefined
      // Nothing pending or firing: skip to the next time the condition held.
      if (k >= times.length) break
      t = times[k]!
      continue
    }
    t += stepMs
  }
  if (firingSince !== undefined) episodes.push([firingSince, endMs])
  return episodes
}

export function formatBacktest(rows: readonly BacktestRow[], windowText: string): string {
  const lines = [`Backtest over the last ${windowText}, each alert evaluated at its group's interval with its "for":`, '', '| alert | group | interval | fired | firing time | longest episode | series |', '|---|---|---|---|---|---|---|']
  for (const r of rows) {
    if (r.error) lines.push(`| ${r.alert} | ${r.group} | ${r.intervalSeconds}s | error: ${r.error.slice(0, 120)} | | | |`)
    else lines.push(`| ${r.alert} | ${r.group} | ${r.intervalSeconds}s | ${r.firingCount} | ${human(r.firingSeconds)} | ${human(r.longestEpisodeSeconds)} | ${r.seriesFired} |`)
  }
  return lines.join('\n') + '\n'
}

function human(seconds: number): string {
  if (seconds === 0) return '0s'
  const d = Math.floor(seconds / 86_400)
  const h = Math.floor((seconds % 86_400) / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = Math.round(seconds % 60)
  return [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].join('') || '0s'
}
