/**
 * One alerting rule and the state of its alerts, with Prometheus's semantics (the Alert
 * Generator Compliance Specification, prometheus/compliance alert_generator/):
 * - a result sample makes an alert `pending` (active since that evaluation); after `for`
 *   it turns `firing` (`for: 0` fires on the first evaluation);
 * - once the sample is gone: a pending alert is forgotten; a firing alert keeps firing for
 *   `keep_firing_for` if set, then turns `inactive` (resolved) and is still sent, with
 *   `endsAt` = the resolve time, for 15 minutes so every Alertmanager hears of it;
 * - labels: the sample's labels without `__name__`, plus the rule's labels (templates),
 *   plus `alertname`; annotations are templates too; `$value` is the sample's value;
 * - ALERTS{alertstate} = 1 and ALERTS_FOR_STATE = active-since in seconds, per active alert.
 * The state machine takes query results as input; group.ts runs the query and the templates'
 * own queries.
 */
import type { Labels } from '../promql/api.js'
import { AlertTemplate, TemplateExecError } from '../template/expand.js'
import { querySample } from '../template/functions.js'
import { labelsKey, type InstantSample, type OutputSample, type PostableAlert } from './types.js'

export type AlertState = 'inactive' | 'pending' | 'firing'

export interface Alert {
  state: AlertState
  labels: Record<string, string>
  annotations: Record<string, string>
  value: number
  activeAtMs: number
  firedAtMs?: number
  resolvedAtMs?: number
  lastSentAtMs?: number
  /** Since when the condition is gone while keep_firing_for holds the alert. */
  keepFiringSinceMs?: number
  validUntilMs?: number
}

/** Resolved alerts are re-sent for this long (Prometheus's resolvedRetention). */
export const RESOLVED_RETENTION_MS = 15 * 60_000

export interface AlertingRuleSpec {
  name: string
  expr: string
  forMs: number
  keepFiringForMs: number
  labels: Record<string, string>
  annotations: Record<string, string>
}

export interface TemplateContext {
  externalLabels: Record<string, string>
  externalURL: string
  /** Results of `query "..."` calls in templates, fetched beforehand by the group. */
  query: (expr: string) => InstantSample[] | undefined
}

export class LimitExceededError extends Error {
  override readonly name = 'LimitExceededError'
}

export class AlertingRule {
  readonly kind = 'alerting'
  private readonly labelTemplates: [string, AlertTemplate][]
  private readonly annotationTemplates: [string, AlertTemplate][]
  private active = new Map<string, Alert>()
  lastError: string | undefined
  health: 'unknown' | 'ok' | 'err' = 'unknown'
  lastEvaluationMs = 0
  evaluationDurationMs = 0
  /** Template queries met while expanding (the group runs them and expands again). */
  readonly templateQueries = new Set<string>()

  constructor(readonly spec: AlertingRuleSpec) {
    // Parse errors were reported by the linter already; a template that does not parse expands to its error.
    const parse = (t: string) => AlertTemplate.parse(t)
    this.labelTemplates = Object.entries(spec.labels).map(([k, v]) => [k, parse(v)])
    this.annotationTemplates = Object.entries(spec.annotations).map(([k, v]) => [k, parse(v)])
  }

  get name(): string {
    return this.spec.name
  }

  /** Takes over the alerts of the same rule from before a reload. */
  adoptState(prev: AlertingRule): void {
    this.active = prev.active
    this.health = prev.health
    this.lastError = prev.lastError
    this.lastEvaluationMs = prev.lastEvaluationMs
  }

  alerts(): Alert[] {
    return [...this.active.values()]
  }

  /** The state machine step at evaluation time `ts`, given the query's result. Throws LimitExceededError. */
  eval(ts: number, samples: readonly InstantSample[], ctx: TemplateContext, limit = 0): void {
    const seen = new Set<string>()
    const next = new Map<string, Alert>()
    for (const s of samples) {
      const queryLabels: Record<string, string> = { ...s.labels }
      delete queryLabels.__name__
      const data = { labels: queryLabels, externalLabels: ctx.externalLabels, externalURL: ctx.externalURL, value: s.value }
      const labels: Record<string, string> = { ...queryLabels }
      for (const [k, t] of this.labelTemplates) labels[k] = this.expand(t, data, ctx)
      labels.alertname = this.spec.name
      // Prometheus drops labels whose template expands to "".
      for (const k of Object.keys(labels)) if (labels[k] === '') delete labels[k]
      const annotations: Record<string, string> = {}
      for (const [k, t] of this.annotationTemplates) annotations[k] = this.expand(t, data, ctx)
      const key = labelsKey(labels)
      if (next.has(key)) throw new Error(`vector contains metrics with the same labelset after applying alert labels`)
      seen.add(key)
      const existing = this.active.get(key)
      if (existing && existing.state !== 'inactive') {
        existing.value = s.value
        existing.annotations = annotations
        existing.labels = labels
        existing.keepFiringSinceMs = undefined
        next.set(key, existing)
        continue
      }
      next.set(key, { state: 'pending', labels, annotations, value: s.value, activeAtMs: ts })
    }
    // Alerts whose condition is gone.
    for (const [key, a] of this.active) {
      if (seen.has(key)) continue
      if (a.state === 'firing' && this.spec.keepFiringForMs > 0) {
        a.keepFiringSinceMs ??= ts
        if (ts - a.keepFiringSinceMs < this.spec.keepFiringForMs) {
          next.set(key, a)
          continue
        }
      }
      if (a.state === 'pending') continue // forgotten
      if (a.state === 'firing') {
        a.state = 'inactive'
        a.resolvedAtMs = ts
      }
      if (a.resolvedAtMs !== undefined && ts - a.resolvedAtMs > RESOLVED_RETENTION_MS) continue
      next.set(key, a)
    }
    for (const a of next.values()) {
      if (a.state === 'pending' && ts - a.activeAtMs >= this.spec.forMs) {
        a.state = 'firing'
        a.firedAtMs = ts
      }
    }
    const activeCount = [...next.values()].filter((a) => a.state !== 'inactive').length
    if (limit > 0 && activeCount > limit) {
      this.active = new Map()
      throw new LimitExceededError(`exceeded limit of ${limit} with ${activeCount} alerts`)
    }
    this.active = next
  }

  private expand(t: AlertTemplate, data: Parameters<AlertTemplate['expand']>[0], ctx: TemplateContext): string {
    try {
      return t.expand(data, (q) => {
        const r = ctx.query(q)
        if (r === undefined) {
          this.templateQueries.add(q)
          return []
        }
        return r.map((s) => querySample({ ...s.labels }, s.value))
      })
    } catch (err) {
      if (err instanceof TemplateExecError) return `<error expanding template: ${err.message}>`
      throw err
    }
  }

  /** ALERTS and ALERTS_FOR_STATE samples for the alerts active at `ts`. */
  series(ts: number): OutputSample[] {
    const out: OutputSample[] = []
    for (const a of this.active.values()) {
      if (a.state === 'inactive') continue
      out.push({ labels: { ...a.labels, __name__: 'ALERTS', alertstate: a.state }, timestampMs: ts, value: 1 })
      out.push({ labels: { ...a.labels, __name__: 'ALERTS_FOR_STATE' }, timestampMs: ts, value: a.activeAtMs / 1000 })
    }
    return out
  }

  /**
   * Restores pending/firing progress after a restart from ALERTS_FOR_STATE (Prometheus's
   * RestoreForState): `lastActiveAt(labels)` gives the last stored active-since (s) and the
   * time of that sample (ms), or undefined. Only alerts with `for` are restored.
   */
  restore(ts: number, lastActiveAt: (labels: Labels) => { activeAtS: number; sampleMs: number } | undefined, gracePeriodMs = 10 * 60_000): number {
    if (this.spec.forMs === 0) return 0
    let restored = 0
    for (const a of this.active.values()) {
      if (a.state === 'inactive') continue
      const found = lastActiveAt({ ...a.labels, __name__: 'ALERTS_FOR_STATE' })
      if (found === undefined) continue
      let activeAt = found.activeAtS * 1000
      const downAt = found.sampleMs
      const spentPending = downAt - activeAt
      const remaining = this.spec.forMs - spentPending
      if (remaining <= 0) {
        // It had fired before the restart: keep its start.
      } else if (remaining < gracePeriodMs) {
        // Not enough time left for Alertmanager to have heard: give it the grace period.
        activeAt = ts + gracePeriodMs - this.spec.forMs
      } else {
        // Pending time spent before the outage counts; the outage does not.
        activeAt += ts - downAt
      }
      a.activeAtMs = Math.min(activeAt, ts)
      if (a.state === 'firing' && ts - a.activeAtMs < this.spec.forMs) {
        a.state = 'pending'
        a.firedAtMs = undefined
      } else if (a.state === 'pending' && ts - a.activeAtMs >= this.spec.forMs) {
        a.state = 'firing'
        a.firedAtMs = ts
      }
      restored++
    }
    return restored
  }

  /** Alerts due for sending at `ts` (firing ones every resendDelay, resolved ones once more each time). */
  alertsToSend(ts: number, resendDelayMs: number, intervalMs: number, generatorURL: string): PostableAlert[] {
    const out: PostableAlert[] = []
    for (const a of this.active.values()) {
      if (a.state === 'pending') continue
      const resolvedSinceSent = a.resolvedAtMs !== undefined && (a.lastSentAtMs === undefined || a.resolvedAtMs > a.lastSentAtMs)
      if (!resolvedSinceSent && a.lastSentAtMs !== undefined && a.lastSentAtMs + resendDelayMs >= ts) continue
      a.lastSentAtMs = ts
      // Alertmanager resolves an alert by itself at endsAt: far enough for 3 missed sends.
      a.validUntilMs = ts + 4 * Math.max(resendDelayMs, intervalMs)
      out.push({
        labels: { ...a.labels },
        annotations: { ...a.annotations },
        startsAt: new Date(a.firedAtMs ?? a.activeAtMs).toISOString(),
        endsAt: new Date(a.resolvedAtMs ?? a.validUntilMs).toISOString(),
        generatorURL,
      })
    }
    return out
  }
}
