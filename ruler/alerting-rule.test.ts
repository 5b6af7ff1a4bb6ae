import { describe, expect, it } from 'vitest'
import { AlertingRule, LimitExceededError, RESOLVED_RETENTION_MS, type AlertingRuleSpec } from './alerting-rule.js'

const ctx = { externalLabels: { cluster: 'eu' }, externalURL: 'http://ruler:9201', query: () => [] }
const spec = (over: Partial<AlertingRuleSpec> = {}): AlertingRuleSpec => ({
  name: 'HighErrors',
  expr: 'errors > 1',
  forMs: 60_000,
  keepFiringForMs: 0,
  labels: { severity: 'critical' },
  annotations: { summary: '{{ $labels.job }} at {{ $value }} in {{ $externalLabels.cluster }}' },
  ...over,
})
const sample = (v = 5, labels: Record<string, string> = { __name__: 'errors', job: 'api' }) => ({ labels, value: v })
const M = 60_000

/** Runs the rule over evaluations: `present[i]` says whether the sample is in the result at i*15s. */
function run(rule: AlertingRule, present: boolean[], step = 15_000) {
  return present.map((p, i) => {
    rule.eval(i * step, p ? [sample()] : [], ctx)
    const a = rule.alerts()[0]
    return a?.state ?? 'none'
  })
}

describe('alert states follow Prometheus (inactive -> pending -> firing -> resolved)', () => {
  it.each([
    ['for 1m: pending until 1m has passed, then firing', spec(), [true, true, true, true, true], ['pending', 'pending', 'pending', 'pending', 'firing']],
    ['for 0: firing at once', spec({ forMs: 0 }), [true, true], ['firing', 'firing']],
    ['for shorter than the interval: firing at the next evaluation', spec({ forMs: 5_000 }), [true, true], ['pending', 'firing']],
    ['pending then gone: forgotten', spec(), [true, true, false], ['pending', 'pending', 'none']],
    ['firing then gone: inactive (resolved)', spec({ forMs: 0 }), [true, false, false], ['firing', 'inactive', 'inactive']],
    ['keep_firing_for holds a firing alert after the condition clears', spec({ forMs: 0, keepFiringForMs: 30_000 }), [true, false, false, false], ['firing', 'firing', 'firing', 'inactive']],
    ['back after resolve: a new pending alert', spec({ forMs: 30_000 }), [true, true, true, false, true], ['pending', 'pending', 'firing', 'inactive', 'pending']],
  ])('%s', (_name, s, present, want) => {
    expect(run(new AlertingRule(s), present)).toEqual(want)
  })

  it('forgets a resolved alert 15 minutes after it resolved', () => {
    const rule = new AlertingRule(spec({ forMs: 0 }))
    rule.eval(0, [sample()], ctx)
    rule.eval(M, [], ctx)
    rule.eval(M + RESOLVED_RETENTION_MS, [], ctx)
    expect(rule.alerts()).toHaveLength(1)
    rule.eval(M + RESOLVED_RETENTION_MS + 1, [], ctx)
    expect(rule.alerts()).toHaveLength(0)
  })
})

describe('labels, annotations and series', () => {
  it('drops __name__, adds rule labels and alertname, expands templates with $value and external labels', () => {
    const rule = new AlertingRule(spec({ forMs: 0, labels: { severity: '{{ if gt $value 10.0 }}critical{{ else }}warning{{ end }}', team: '' } }))
    rule.eval(0, [sample(5)], ctx)
    const [a] = rule.alerts()
    expect(a!.labels).toEqual({ alertname: 'HighErrors', job: 'api', severity: 'warning' })
    expect(a!.annotations).toEqual({ summary: 'api at 5 in eu' })
  })

  it('a template that fails at execution expands to the error text, as Prometheus does', () => {
    const rule = new AlertingRule(spec({ forMs: 0, annotations: { summary: '{{ if gt $value 1 }}x{{ end }}' } }))
    rule.eval(0, [sample()], ctx)
    expect(rule.alerts()[0]!.annotations.summary).toMatch(/^<error expanding template: .*incompatible types for comparison>$/)
  })

  it('writes ALERTS with alertstate and ALERTS_FOR_STATE with the active-since time in seconds', () => {
    const rule = new AlertingRule(spec())
    rule.eval(30_000, [sample()], ctx)
    expect(rule.series(30_000)).toEqual([
      { labels: { __name__: 'ALERTS', alertname: 'HighErrors', alertstate: 'pending', job: 'api', severity: 'critical' }, timestampMs: 30_000, value: 1 },
      { labels: { __name__: 'ALERTS_FOR_STATE', alertname: 'HighErrors', job: 'api', severity: 'critical' }, timestampMs: 30_000, value: 30 },
    ])
  })

  it('refuses a result that maps two samples to one alert', () => {
    const rule = new AlertingRule(spec({ labels: { job: 'fixed' } }))
    expect(() => rule.eval(0, [sample(1, { job: 'a' }), sample(2, { job: 'b' })], ctx)).toThrow(/same labelset/)
  })

  it('limit: more active alerts than the limit fail the rule and clear its alerts', () => {
    const rule = new AlertingRule(spec())
    expect(() => rule.eval(0, [sample(1, { job: 'a' }), sample(2, { job: 'b' })], ctx, 1)).toThrow(LimitExceededError)
    expect(rule.alerts()).toEqual([])
    rule.eval(15_000, [sample(1, { job: 'a' })], ctx, 1)
    expect(rule.alerts()).toHaveLength(1)
  })
})

describe('what is sent to Alertmanager', () => {
  const url = 'http://ruler/graph'

  it('sends firing alerts on firing and every resend delay, resolved ones with endsAt = resolve time', () => {
    const rule = new AlertingRule(spec({ forMs: 15_000 }))
    const sent: { t: number; endsAt: string; startsAt: string }[] = []
    for (let t = 0; t <= 180_000; t += 15_000) {
      rule.eval(t, t <= 120_000 ? [sample()] : [], ctx)
      for (const a of rule.alertsToSend(t, 60_000, 15_000, url)) sent.push({ t, endsAt: a.endsAt, startsAt: a.startsAt })
    }
    // Pending at 0, firing at 15s (sent), resent when more than 60s have passed (90s), resolved at 135s (sent at once), resent after 60s more.
    expect(sent.map((s) => s.t)).toEqual([15_000, 90_000, 135_000])
    expect(sent[0]!.startsAt).toBe(new Date(15_000).toISOString())
    expect(sent[0]!.endsAt).toBe(new Date(15_000 + 4 * 60_000).toISOString())
    expect(sent[2]!.endsAt).toBe(new Date(135_000).toISOString())
    expect(sent[2]!.startsAt).toBe(new Date(15_000).toISOString())
  })

  it('never sends pending alerts', () => {
    const rule = new AlertingRule(spec({ forMs: 10 * M }))
    rule.eval(0, [sample()], ctx)
    expect(rule.alertsToSend(0, M, M, url)).toEqual([])
  })
})

describe('for state restored after a restart (ALERTS_FOR_STATE)', () => {
  const restoreAt = (forMs: number, activeAtS: number, downAtMs: number, now: number) => {
    const rule = new AlertingRule(spec({ forMs }))
    rule.eval(now, [sample()], ctx)
    rule.restore(now, () => ({ activeAtS, sampleMs: downAtMs }))
    return rule.alerts()[0]!
  }

  it('an alert that had fired before the restart keeps its start and fires at once', () => {
    const a = restoreAt(5 * M, 0, 20 * M, 21 * M)
    expect(a.activeAtMs).toBe(0)
    expect(a.state).toBe('firing')
  })

  it('pending time before the outage counts, the outage does not', () => {
    // 30 min `for`, pending for 10 min before going down for 5 min: 20 min left.
    const a = restoreAt(30 * M, 0, 10 * M, 15 * M)
    expect(a.activeAtMs).toBe(5 * M)
    expect(a.state).toBe('pending')
  })

  it('with little time left, the alert still waits the grace period', () => {
    const a = restoreAt(15 * M, 0, 10 * M, 12 * M)
    expect(a.activeAtMs).toBe(12 * M + 10 * M - 15 * M)
    expect(a.state).toBe('pending')
  })
})
