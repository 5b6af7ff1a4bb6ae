/**
 * The ruler: loads rule files, runs one RuleGroup per group, reloads on request keeping the
 * old rules when the new files are bad, and answers /api/v1/rules and /api/v1/alerts.
 *
 * High availability: every replica may run the same rules (the default). Evaluation times are
 * aligned to the group's slot, so replicas evaluate at the same instants and send identical
 * alerts, which Alertmanager deduplicates by their labels. Alternatively `shard: i/n` makes
 * a replica run only the groups whose hash (FNV-1a of file and name) modulo n is i, so n
 * replicas split the groups between them without overlap (no redundancy then).
 */
import type { Logger } from '../observability/logger.js'
import type { LabelMatcher, PromQLEngine, Querier, SeriesData } from '../promql/api.js'
import { groupHash, RuleGroup, type AlertEventSink, type GroupSpec } from './group.js'
import type { RulerMetrics } from './metrics.js'
import type { Notifier } from './notifier.js'
import { overlayQuerier, RecentSamples } from './recent-samples.js'
import type { RuleGroupDefinition } from '../rules-compiler/rule-file.js'
import { groupSpecs, loadRuleDefinitions } from './rule-loader.js'
import type { InstantQueryFn, InstantSample, SampleWriter } from './types.js'

export interface RuleManagerOptions {
  ruleFiles: readonly string[]
  /** Reads and checks the rule files (default: loadRuleDefinitions); `rules test` reuses one read for every test case. */
  loadDefinitions?: (files: readonly string[]) => RuleGroupDefinition[]
  engine: PromQLEngine
  querier: Querier
  writer: SampleWriter
  notifier?: Notifier
  events?: AlertEventSink
  metrics: RulerMetrics
  logger: Logger
  evaluationIntervalMs?: number
  resendDelayMs?: number
  outageToleranceMs?: number
  externalLabels?: Record<string, string>
  externalURL?: string
  shard?: { index: number; count: number }
  now?: () => number
}

export interface ReloadResult {
  ok: boolean
  error?: string
  groups: number
}

export class RuleManager {
  private groups: RuleGroup[] = []
  private readonly recent = new RecentSamples()
  private readonly query: InstantQueryFn
  private readonly querySession: () => InstantQueryFn
  private readonly select: (matchers: readonly LabelMatcher[], start: number, end: number) => Promise<SeriesData[]>
  private started = false
  private firstLoad = true
  lastReloadError: string | undefined

  constructor(private readonly opts: RuleManagerOptions) {
    const querier = overlayQuerier(opts.querier, this.recent)
    this.query = async (expr, time, signal) => toSamples(await opts.engine.instantQuery(querier, expr, time, { rawOnly: true, signal }))
    this.querySession = () => {
      // Rules of one group often read the same selectors at the same instant (a warning and a
      // critical variant, a ratio's numerator and denominator): storage answers each once per
      // evaluation. The ruler's own writes are overlaid after the memo, so they stay visible.
      // One view of storage for the whole evaluation: every rule of the group reads one
      // state of the store (query/read-snapshot.ts), as a single query does.
      const t = (opts.now ?? Date.now)()
      const session = overlayQuerier(memoizedQuerier(opts.querier.forQuery?.({ start: t, end: t }) ?? opts.querier), this.recent)
      return async (expr, time, signal) => toSamples(await opts.engine.instantQuery(session, expr, time, { rawOnly: true, signal }))
    }
    this.select = (matchers, start, end) => querier.select(matchers, { start, end, step: 0, range: 0, lookbackDelta: 0, rawOnly: true })
  }

  /** Loads (or reloads) the rule files. On an error the running rules stay as they are. */
  async reload(): Promise<ReloadResult> {
    const { opts } = this
    let specs: GroupSpec[]
    try {
      specs = groupSpecs((opts.loadDefinitions ?? loadRuleDefinitions)(opts.ruleFiles), opts.evaluationIntervalMs ?? 60_000)
    } catch (err) {
      this.lastReloadError = (err as Error).message
      opts.metrics.reloadSuccess.set(0)
      opts.logger.error(this.firstLoad ? 'loading rule files failed' : 'loading rule files failed; keeping the rules in force', { err: this.lastReloadError })
      return { ok: false, error: this.lastReloadError, groups: this.groups.length }
    }
    if (opts.shard) specs = specs.filter((s) => groupHash(s.file, s.name) % opts.shard!.count === opts.shard!.index)
    const next = specs.map(
      (spec) =>
        new RuleGroup(
          spec,
          {
            query: this.query,
            querySession: this.querySession,
            select: this.select,
            writer: opts.writer,
            recent: this.recent,
            notifier: opts.notifier,
            events: opts.events,
            externalLabels: opts.externalLabels ?? {},
            externalURL: opts.externalURL ?? 'http://localhost:9201',
            resendDelayMs: opts.resendDelayMs ?? 60_000,
            outageToleranceMs: opts.outageToleranceMs ?? 3_600_000,
            metrics: opts.metrics,
            logger: opts.logger,
            now: opts.now ?? Date.now,
          },
          this.firstLoad,
        ),
    )
    const old = new Map(this.groups.map((g) => [g.key, g]))
    await Promise.all(this.groups.map((g) => g.stop()))
    for (const g of next) {
      const prev = old.get(g.key)
      if (prev) g.copyStateFrom(prev)
    }
    // A group that is gone ends its series, as Prometheus marks them stale when it drops a group.
    const kept = new Set(next.map((g) => g.key))
    const markers = this.groups.filter((g) => !kept.has(g.key)).flatMap((g) => g.staleMarkers((opts.now ?? Date.now)()))
    if (markers.length > 0) {
      this.recent.add(markers)
      await opts.writer.write(markers).catch((err: Error) => opts.logger.warn('writing staleness markers of removed groups failed', { err: err.message }))
    }
    this.groups = next
    this.firstLoad = false
    this.lastReloadError = undefined
    opts.metrics.reloadSuccess.set(1)
    opts.metrics.reloadTimestamp.set(Date.now() / 1000)
    if (this.started) for (const g of this.groups) g.start()
    opts.logger.info('rules loaded', { groups: this.groups.length, rules: this.groups.reduce((n, g) => n + g.spec.rules.length, 0) })
    return { ok: true, groups: this.groups.length }
  }

  start(): void {
    this.started = true
    for (const g of this.groups) g.start()
  }

  async stop(): Promise<void> {
    this.started = false
    await Promise.all(this.groups.map((g) => g.stop()))
  }

  /** Puts the named groups first, in this order (promtool's group_eval_order). */
  orderGroups(names: readonly string[]): void {
    const rank = (g: RuleGroup) => {
      const i = names.indexOf(g.spec.name)
      return i < 0 ? names.length : i
    }
    this.groups = [...this.groups].sort((a, b) => rank(a) - rank(b))
  }

  ruleGroups(): readonly RuleGroup[] {
    return this.groups
  }

  /** Evaluates every group once at `ts` (tests, `rules test`, the benchmark). */
  async evaluateAll(ts: number): Promise<void> {
    for (const g of this.groups) await g.evaluate(ts)
  }

  updateAlertGauge(): void {
    const counts = { pending: 0, firing: 0, inactive: 0 }
    for (const g of this.groups) for (const r of g.spec.rules) if (r.kind === 'alerting') for (const a of r.alerts()) counts[a.state]++
    for (const [state, n] of Object.entries(counts)) this.opts.metrics.alerts.set({ state }, n)
  }
}

/** Storage reads of one evaluation, each distinct selector and window read once. */
function memoizedQuerier(base: Querier): Querier {
  const memo = new Map<string, Promise<SeriesData[]>>()
  return {
    ...(base.evaluate ? { evaluate: base.evaluate.bind(base) } : {}),
    select(matchers, hints, signal) {
      const key = JSON.stringify([matchers, hints.start, hints.end, hints.step, hints.range, hints.func ?? '', hints.lookbackDelta, hints.rawOnly ?? false])
      let p = memo.get(key)
      if (!p) {
        p = base.select(matchers, hints, signal)
        memo.set(key, p)
        p.catch(() => memo.delete(key))
      }
      return p
    },
  }
}

function toSamples(result: Awaited<ReturnType<PromQLEngine['instantQuery']>>): InstantSample[] {
  const v = result.value
  if (v.type === 'vector') return v.samples.map((s) => ({ labels: s.labels, value: s.v }))
  if (v.type === 'scalar') return [{ labels: {}, value: v.v }]
  throw new Error(`rule result is not a vector or scalar (got ${v.type === 'matrix' ? 'range vector' : 'string'})`)
}
