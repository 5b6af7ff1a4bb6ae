/**
 * The ruler's HTTP endpoints, shaped as Prometheus serves them (Grafana's alert list and the
 * compliance tester read these): GET /api/v1/rules, GET /api/v1/alerts, POST /-/reload.
 */
import type { RequestHandler } from 'express'
import type { Route } from '../http/server.js'
import { parsePromQL } from '../promql/parser.js'
import { printExpr } from '../promql/printer.js'
import { formatFloatE } from '../template/go-format.js'
import type { Alert } from './alerting-rule.js'
import type { Rule } from './group.js'
import type { RuleManager } from './manager.js'

const iso = (ms: number) => (ms === 0 ? '0001-01-01T00:00:00Z' : new Date(ms).toISOString())

function printed(expr: string): string {
  try {
    return printExpr(parsePromQL(expr))
  } catch {
    return expr
  }
}

/** Prometheus prints an alert's value with strconv 'e' and shortest digits: "1e+00", "2.5e-01". */
function alertValue(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf'
  const shortest = v.toExponential()
  return formatFloatE(v, Math.max(0, shortest.split('e')[0]!.replace(/^-?\d\.?/, '').length))
}

function alertJson(a: Alert) {
  return {
    labels: a.labels,
    annotations: a.annotations,
    state: a.state,
    activeAt: iso(a.activeAtMs),
    ...(a.keepFiringSinceMs !== undefined ? { keepFiringSince: iso(a.keepFiringSinceMs) } : {}),
    value: alertValue(a.value),
  }
}

function ruleJson(r: Rule) {
  const common = {
    name: r.name,
    query: printed(r.spec.expr),
    labels: r.spec.labels,
    health: r.health,
    ...(r.lastError ? { lastError: r.lastError } : {}),
    evaluationTime: r.evaluationDurationMs / 1000,
    lastEvaluation: iso(r.lastEvaluationMs),
  }
  if (r.kind === 'recording') return { ...common, type: 'recording' }
  const alerts = r.alerts().filter((a) => a.state !== 'inactive')
  const state = alerts.some((a) => a.state === 'firing') ? 'firing' : alerts.length > 0 ? 'pending' : 'inactive'
  return {
    state,
    ...common,
    duration: r.spec.forMs / 1000,
    keepFiringFor: r.spec.keepFiringForMs / 1000,
    annotations: r.spec.annotations,
    alerts: alerts.map(alertJson),
    type: 'alerting',
  }
}

export function rulerRoutes(manager: RuleManager): Route[] {
  const rules: RequestHandler = (req, res) => {
    const type = typeof req.query.type === 'string' ? req.query.type : undefined
    if (type !== undefined && type !== 'alert' && type !== 'record') {
      res.status(400).json({ status: 'error', errorType: 'bad_data', error: `unsupported type "${type.slice(0, 20)}"` })
      return
    }
    const groups = manager.ruleGroups().map((g) => ({
      name: g.spec.name,
      file: g.spec.file,
      rules: g.spec.rules.filter((r) => type === undefined || (type === 'alert') === (r.kind === 'alerting')).map(ruleJson),
      interval: g.spec.intervalMs / 1000,
      limit: g.spec.limit,
      evaluationTime: g.evaluationDurationMs / 1000,
      lastEvaluation: iso(g.lastEvaluationMs),
    }))
    res.json({ status: 'success', data: { groups } })
  }
  const alerts: RequestHandler = (_req, res) => {
    const list = manager
      .ruleGroups()
      .flatMap((g) => g.spec.rules)
      .flatMap((r) => (r.kind === 'alerting' ? r.alerts().filter((a) => a.state !== 'inactive') : []))
      .map(alertJson)
    res.json({ status: 'success', data: { alerts: list } })
  }
  const reload: RequestHandler = async (_req, res) => {
    const result = await manager.reload()
    if (result.ok) res.status(200).type('text/plain').send('rules reloaded\n')
    else res.status(500).type('text/plain').send(`failed to reload rules, keeping the previous ones: ${result.error}\n`)
  }
  return [
    { method: 'get', path: '/api/v1/rules', handler: rules },
    { method: 'get', path: '/api/v1/alerts', handler: alerts },
    { method: 'post', path: '/-/reload', handler: reload },
  ]
}
