/**
 * The resolution rule: which tier (raw samples, 1-minute or 1-hour rollups) serves which part
 * of a query's time range. Pure; the query service calls it per selector.
 *
 * The rule (docs/schema.md, "Which tier answers"):
 * 1. The preferred tier is the coarsest whose bucket fits in the step and in the selector's
 *    range (`rate(x[5m])` cannot be answered from 1-hour buckets): step and range >= 1 h ->
 *    1h, >= 1 min -> 1m, else raw. `rawOnly` (alert rules, instant queries) forces raw.
 * 2. A part of the range older than the preferred tier's retention is served by the next
 *    coarser tier that still holds it (raw -> 1m -> 1h); nothing holds data older than the
 *    1-hour retention, that part is still given to 1h (it answers "no data").
 * 3. Rollups exist only for closed hours (rollup/README.md: refreshed after the hour ends plus
 *    a grace period), so a part newer than `rollupsCompleteUntil` is served by raw, which
 *    always holds the recent days.
 * Tier boundaries fall on whole hours, the unit rollups are computed and dropped in, so a
 * span of a rollup tier always covers whole buckets.
 */

export type Tier = 'raw' | '1m' | '1h'

export const BUCKET_MS: Readonly<Record<Tier, number>> = { raw: 0, '1m': 60_000, '1h': 3_600_000 }

export interface TierRetentions {
  rawMs: number
  oneMinuteMs: number
  oneHourMs: number
}

export interface ResolutionRequest {
  /** First millisecond of the range (inclusive). */
  start: number
  /** Last millisecond of the range (inclusive). */
  end: number
  /** Query step in ms; 0 for an instant query. */
  step: number
  /** The enclosing matrix selector's range in ms (`[5m]` -> 300000); 0 for a plain selector. */
  range?: number
  now: number
  retention: TierRetentions
  /** Rollups are complete before this instant; default `rollupsCompleteUntil(now)`. */
  completeUntil?: number
  rawOnly?: boolean
}

/** A part of the range: milliseconds [start, end] inclusive, served by `tier`. */
export interface TierSpan {
  tier: Tier
  start: number
  end: number
}

const HOUR = 3_600_000

/**
 * Default lag of the rollup tiers: an hour is rolled up once it is closed plus the refresh
 * grace (2 min) plus one refresh period (1 min); 5 minutes leaves slack for a slow refresh.
 */
export const DEFAULT_ROLLUP_LAG_MS = 5 * 60_000

/** The end (exclusive) of the hours whose rollups are complete at `now`. */
export function rollupsCompleteUntil(now: number, lagMs = DEFAULT_ROLLUP_LAG_MS): number {
  return floorHour(now - lagMs)
}

function floorHour(ms: number): number {
  return Math.floor(ms / HOUR) * HOUR
}

function ceilHour(ms: number): number {
  return Math.ceil(ms / HOUR) * HOUR
}

/** Step 1 of the rule: the coarsest tier whose buckets fit in the step and the range. */
export function preferredTier(step: number, range = 0, rawOnly = false): Tier {
  if (rawOnly || step <= 0) return 'raw'
  const grain = range > 0 ? Math.min(step, range) : step
  if (grain >= BUCKET_MS['1h']) return '1h'
  if (grain >= BUCKET_MS['1m']) return '1m'
  return 'raw'
}

/**
 * Splits [start, end] into contiguous spans, oldest first, each served by one tier.
 * Throws RangeError on a range that is empty or not finite.
 */
export function resolveTiers(req: ResolutionRequest): TierSpan[] {
  const { start, end, now, retention } = req
  if (!Number.isFinite(start) || !Number.isFinite(end) || !Number.isFinite(now) || end < start) {
    throw new RangeError(`invalid range [${start}, ${end}] at now=${now}`)
  }
  const preferred = preferredTier(req.step, req.range ?? 0, req.rawOnly ?? false)
  if (preferred === 'raw' && req.rawOnly) return [{ tier: 'raw', start, end }]
  const complete = Math.min(req.completeUntil ?? rollupsCompleteUntil(now), floorHour(now))
  // Oldest instant each tier still holds, on the hour (rollups are dropped per hour).
  const holds: Record<Tier, number> = {
    raw: ceilHour(now - retention.rawMs),
    '1m': ceilHour(now - retention.oneMinuteMs),
    '1h': ceilHour(now - retention.oneHourMs),
  }
  // Boundaries, newest to oldest: [from, to) served by a tier, in order of preference.
  const order: Tier[] = preferred === 'raw' ? ['raw', '1m', '1h'] : preferred === '1m' ? ['1m', '1h'] : ['1h']
  const spans: TierSpan[] = []
  const push = (tier: Tier, from: number, to: number) => {
    // [from, to) in ms, clipped to [start, end]
    const s = Math.max(from, start)
    const e = Math.min(to - 1, end)
    if (s > e) return
    const last = spans[spans.length - 1]
    if (last && last.tier === tier && last.end + 1 === s) last.end = e
    else spans.push({ tier, start: s, end: e })
  }
  let cursor = -Infinity
  const segments: { tier: Tier; from: number; to: number }[] = []
  // Walk the tiers from the coarsest fallback to the preferred one, oldest data first.
  for (let i = order.length - 1; i >= 0; i--) {
    const tier = order[i]!
    const from = i === order.length - 1 ? -Infinity : holds[tier]
    const to = i === 0 ? Infinity : holds[order[i - 1]!]
    if (to > from) segments.push({ tier, from: Math.max(from, cursor), to })
    cursor = Math.max(cursor, to)
  }
  for (const seg of segments) {
    if (seg.tier === 'raw') {
      push('raw', seg.from, seg.to)
      continue
    }
    // A rollup tier answers only closed, refreshed hours; the rest goes to raw.
    push(seg.tier, seg.from, Math.min(seg.to, complete))
    if (seg.to > complete) push('raw', Math.max(seg.from, complete), seg.to)
  }
  return spans
}
