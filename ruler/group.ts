/**
 * A rule group: its rules evaluated in order, at the group's interval, each evaluation at a
 * timestamp aligned as Prometheus aligns it (multiples of the interval, shifted by a
 * per-group offset from a hash of file and name, so groups spread over the interval and
 * every replica evaluates a group at the same instants). Results of one rule are visible to
 * the next rule at once (recent-samples.ts) and written to storage at the end of the
 * evaluation; series that a rule no longer produces get a staleness marker.
 */
import type { Logger } from '../observability/logger.js'
import type { LabelMatcher, SeriesData } from '../promql/api.js'
import { AlertingRule, type Alert, type AlertState } from './alerting-rule.js'
import type { RulerMetrics } from './metrics.js'
import type { Notifier } from './notifier.js'
import type { RecentSamples } from './recent-samples.js'
import { RecordingRule } from './recording-rule.js'
import { labelsKey, type InstantQueryFn, type InstantSample, type OutputSample, type SampleWriter } from './types.js'

export type Rule = AlertingRule | RecordingRule

/** A change of one alert's state, for the alert-event stream. */
export interface AlertEvent {
  group: string
  rule: string
  labels: Record<string, string>
  annotations: Record<string, string>
  from: AlertState
  to: AlertState
  timestampMs: number
  value: number
}

export interface AlertEventSink {
  publish(events: readonly AlertEvent[]): Promise<void>
}

export interface GroupSpec {
  name: string
  file: string
  intervalMs: number
  queryOffsetMs: number
  limit: number
  rules: Rule[]
}

export interface GroupDeps {
  /** Queries outside an evaluation (templates' own queries use the session). */
  query: InstantQueryFn
  /** A query function for one evaluation: identical storage reads within it are shared. */
  querySession?: () => InstantQueryFn
  /** Reads raw series (for restoring `for` state from ALERTS_FOR_STATE). */
  select: (matchers: readonly LabelMatcher[], start: number, end: number) => Promise<SeriesData[]>
  writer: SampleWriter
  recent: RecentSamples
  notifier?: Notifier
  events?: AlertEventSink
  externalLabels: Record<string, string>
  externalURL: string
  resendDelayMs: number
  /** How far back ALERTS_FOR_STATE is read on restore (Prometheus's outage tolerance, 1h). */
  outageToleranceMs: number
  metrics: RulerMetrics
  logger: Logger
  now: () => number
}

/** FNV-1a (32 bit) of file and name: the group's slot within its interval, stable across replicas. */
export function groupHash(file: string, name: string): number {
  let h = 0x811c9dc5
  for (const c of Buffer.from(`${file}\u0000${name}`)) {
    h ^= c
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

export class RuleGroup {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = true
  private previousSeries = new Map<Rule, Map<string, OutputSample['labels']>>()
  private restored = false
  lastEvaluationMs = 0
  evaluationDurationMs = 0

  constructor(
    readonly spec: GroupSpec,
    private readonly deps: GroupDeps,
    /** Restore `for` state after the first evaluation (true at process start, false on reload). */
    private restoreOnStart: boolean,
  ) {
    this.restored = !restoreOnStart
  }

  get key(): string {
    return `${this.spec.file}\u0000${this.spec.name}`
  }

  /** First evaluation time after `now`: k*interval + offset. */
  nextEvaluation(now: number): number {
    const { intervalMs } = this.spec
    const offset = groupHash(this.spec.file, this.spec.name) % intervalMs
    const base = Math.floor((now - offset) / intervalMs) * intervalMs + offset
    return base <= now ? base + intervalMs : base
  }

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    const m = this.deps.metrics
    m.intervalSeconds.set({ group: this.spec.name }, this.spec.intervalMs / 1000)
    m.rules.set({ group: this.spec.name }, this.spec.rules.length)
    this.schedule(this.nextEvaluation(this.deps.now()))
  }

  private schedule(at: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      const startedAt = this.deps.now()
      this.deps.metrics.lag.set({ group: this.spec.name }, Math.max(0, startedAt - at) / 1000)
      this.running = this.evaluate(at).finally(() => {
        this.running = undefined
        const now = this.deps.now()
        let next = at + this.spec.intervalMs
        if (next <= now) {
          // The evaluation overran its slot(s): skip them, as Prometheus does, and count them.
          const missed = Math.floor((now - at) / this.spec.intervalMs)
          this.deps.metrics.missedIterations.inc({ group: this.spec.name }, missed)
          next = at + (missed + 1) * this.spec.intervalMs
        }
        this.schedule(next)
      })
    }, Math.max(0, at - this.deps.now()))
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    await this.running
  }

  /** Staleness markers for everything the group wrote last: it is being removed (reload). */
  staleMarkers(ts: number): OutputSample[] {
    const out: OutputSample[] = []
    for (const series of this.previousSeries.values()) for (const labels of series.values()) out.push({ labels, timestampMs: ts, value: NaN, stale: true })
    return out
  }

  /** Takes over alert state from the same group of the rule set being replaced (reload). */
  copyStateFrom(old: RuleGroup): void {
    const byKey = new Map(old.spec.rules.map((r) => [`${r.kind}\u0000${r.name}\u0000${r.spec.expr}\u0000${JSON.stringify(r.spec.labels)}`, r]))
    for (const r of this.spec.rules) {
      const prev = byKey.get(`${r.kind}\u0000${r.name}\u0000${r.spec.expr}\u0000${JSON.stringify(r.spec.labels)}`)
      if (!prev) continue
      if (r instanceof AlertingRule && prev instanceof AlertingRule) r.adoptState(prev)
      const series = old.previousSeries.get(prev)
      if (series) this.previousSeries.set(r, series)
    }
    this.restored = old.restored
  }

  /** One evaluation of every rule at time `ts` (ms). */
  async evaluate(ts: number): Promise<void> {
    const started = performance.now()
    const { deps, spec } = this
    const written: OutputSample[] = []
    const events: AlertEvent[] = []
    const queryTs = ts - spec.queryOffsetMs
    const query = deps.querySession?.() ?? deps.query
    for (const rule of spec.rules) {
      const ruleStarted = performance.now()
      let produced: OutputSample[] = []
      try {
        const samples = await query(rule.spec.expr, queryTs)
        if (rule instanceof RecordingRule) {
          produced = rule.eval(ts, samples, spec.limit)
        } else {
          const before = snapshot(rule.alerts())
          await this.evalAlerting(rule, ts, queryTs, samples, query)
          if (!this.restored) await this.restore(rule, ts)
          produced = rule.series(ts)
          if (deps.events) events.push(...diff(spec.name, rule, before, ts))
          deps.notifier?.send(rule.alertsToSend(ts, deps.resendDelayMs, spec.intervalMs, generatorURL(deps.externalURL, rule.spec.expr)))
        }
        rule.health = 'ok'
        rule.lastError = undefined
      } catch (err) {
        rule.health = 'err'
        rule.lastError = (err as Error).message
        deps.metrics.evaluationFailures.inc({ group: spec.name })
        deps.logger.warn('rule evaluation failed', { group: spec.name, rule: rule.name, err: rule.lastError })
      }
      // Series the rule wrote last time but not now end with a staleness marker.
      const now = new Map(produced.map((s) => [labelsKey(s.labels), s.labels]))
      for (const [key, labels] of this.previousSeries.get(rule) ?? []) {
        if (!now.has(key)) produced.push({ labels, timestampMs: ts, value: NaN, stale: true })
      }
      this.previousSeries.set(rule, now)
      deps.recent.add(produced)
      written.push(...produced)
      rule.lastEvaluationMs = ts
      rule.evaluationDurationMs = performance.now() - ruleStarted
    }
    this.restored = true
    if (written.length > 0) {
      try {
        await deps.writer.write(written)
      } catch (err) {
        deps.metrics.evaluationFailures.inc({ group: spec.name })
        deps.logger.error('writing rule results failed', { group: spec.name, samples: written.length, err: (err as Error).message })
      }
    }
    if (events.length > 0 && deps.events) {
      try {
        await deps.events.publish(events)
        deps.metrics.eventsPublished.inc(events.length)
      } catch (err) {
        deps.metrics.eventErrors.inc(events.length)
        deps.logger.warn('publishing alert events failed', { group: spec.name, err: (err as Error).message })
      }
    }
    deps.recent.trim(ts)
    const seconds = (performance.now() - started) / 1000
    this.lastEvaluationMs = ts
    this.evaluationDurationMs = seconds * 1000
    deps.metrics.evaluations.inc({ group: spec.name })
    deps.metrics.evaluationDuration.observe({ group: spec.name }, seconds)
    deps.metrics.lastDuration.set({ group: spec.name }, seconds)
    deps.metrics.lastEvaluation.set({ group: spec.name }, ts / 1000)
  }

  /** Evaluates, then runs the queries its templates asked for and expands again (templates are synchronous). */
  private async evalAlerting(rule: AlertingRule, ts: number, queryTs: number, samples: InstantSample[], query: InstantQueryFn): Promise<void> {
    const cache = new Map<string, InstantSample[]>()
    const ctx = { externalLabels: this.deps.externalLabels, externalURL: this.deps.externalURL, query: (q: string) => cache.get(q) }
    for (let pass = 0; pass < 4; pass++) {
      rule.templateQueries.clear()
      rule.eval(ts, samples, ctx, this.spec.limit)
      const missing = [...rule.templateQueries].filter((q) => !cache.has(q))
      if (missing.length === 0) return
      for (const q of missing) {
        try {
          cache.set(q, await query(q, queryTs))
        } catch (err) {
          this.deps.logger.warn('template query failed', { rule: rule.name, query: q, err: (err as Error).message })
          cache.set(q, [])
        }
      }
    }
  }

  private async restore(rule: AlertingRule, ts: number): Promise<void> {
    if (rule.spec.forMs === 0 || rule.alerts().length === 0) return
    const series = await this.deps.select(
      [
        { type: '=', name: '__name__', value: 'ALERTS_FOR_STATE' },
        { type: '=', name: 'alertname', value: rule.name },
      ],
      ts - this.deps.outageToleranceMs,
      ts - 1,
    )
    const last = new Map<string, { activeAtS: number; sampleMs: number }>()
    for (const s of series) {
      for (let i = s.timestamps.length - 1; i >= 0; i--) {
        if (s.stale?.[i]) continue
        last.set(labelsKey(s.labels), { activeAtS: s.values[i]!, sampleMs: s.timestamps[i]! })
        break
      }
    }
    const n = rule.restore(ts, (labels) => last.get(labelsKey(labels)))
    if (n > 0) this.deps.logger.info('restored alert state', { group: this.spec.name, rule: rule.name, alerts: n })
  }
}

function generatorURL(externalURL: string, expr: string): string {
  return `${externalURL.replace(/\/$/, '')}/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=1`
}

function snapshot(alerts: Alert[]): Map<string, AlertState> {
  return new Map(alerts.map((a) => [labelsKey(a.labels), a.state]))
}

function diff(group: string, rule: AlertingRule, before: Map<string, AlertState>, ts: number): AlertEvent[] {
  const events: AlertEvent[] = []
  const after = new Map(rule.alerts().map((a) => [labelsKey(a.labels), a]))
  for (const [key, a] of after) {
    const from = before.get(key) ?? 'inactive'
    if (from !== a.state && !(from === 'inactive' && a.state === 'inactive'))
      events.push({ group, rule: rule.name, labels: a.labels, annotations: a.annotations, from, to: a.state, timestampMs: ts, value: a.value })
  }
  for (const [key, state] of before) {
    if (!after.has(key) && state !== 'inactive') events.push({ group, rule: rule.name, labels: JSON.parse(key).reduce((o: Record<string, string>, [k, v]: [string, string]) => ((o[k] = v), o), {}), annotations: {}, from: state, to: 'inactive', timestampMs: ts, value: NaN })
  }
  return events
}
