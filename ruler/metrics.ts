/** The ruler's self-metrics, so that an alert can fire when the alerting itself falls behind. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export class RulerMetrics {
  readonly evaluations: Counter<'group'>
  readonly evaluationFailures: Counter<'group'>
  readonly missedIterations: Counter<'group'>
  readonly evaluationDuration: Histogram<'group'>
  readonly lastDuration: Gauge<'group'>
  readonly lastEvaluation: Gauge<'group'>
  readonly lag: Gauge<'group'>
  readonly intervalSeconds: Gauge<'group'>
  readonly rules: Gauge<'group'>
  readonly alerts: Gauge<'state'>
  readonly reloadSuccess: Gauge
  readonly reloadTimestamp: Gauge
  readonly notificationsSent: Counter<'alertmanager'>
  readonly notificationErrors: Counter<'alertmanager'>
  readonly notificationsDropped: Counter<'alertmanager'>
  readonly notifierQueueLength: Gauge<'alertmanager'>
  readonly notifierLatency: Histogram<'alertmanager'>
  readonly eventsPublished: Counter
  readonly eventErrors: Counter

  constructor(registry: Registry) {
    const g = { registers: [registry] }
    this.evaluations = new Counter({ name: 'metrichouse_ruler_group_evaluations_total', help: 'Rule group evaluations.', labelNames: ['group'], ...g })
    this.evaluationFailures = new Counter({ name: 'metrichouse_ruler_rule_evaluation_failures_total', help: 'Rule evaluations that failed (query error, limit, duplicate labels).', labelNames: ['group'], ...g })
    this.missedIterations = new Counter({ name: 'metrichouse_ruler_group_iterations_missed_total', help: 'Evaluations skipped because the previous one ran past its slot.', labelNames: ['group'], ...g })
    this.evaluationDuration = new Histogram({ name: 'metrichouse_ruler_group_evaluation_duration_seconds', help: 'Time to evaluate a whole group.', labelNames: ['group'], buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], ...g })
    this.lastDuration = new Gauge({ name: 'metrichouse_ruler_group_last_duration_seconds', help: 'Duration of the last evaluation of the group.', labelNames: ['group'], ...g })
    this.lastEvaluation = new Gauge({ name: 'metrichouse_ruler_group_last_evaluation_timestamp_seconds', help: 'Evaluation time of the last finished evaluation.', labelNames: ['group'], ...g })
    this.lag = new Gauge({ name: 'metrichouse_ruler_group_evaluation_lag_seconds', help: 'How late the last evaluation started after its scheduled time.', labelNames: ['group'], ...g })
    this.intervalSeconds = new Gauge({ name: 'metrichouse_ruler_group_interval_seconds', help: 'The group evaluation interval.', labelNames: ['group'], ...g })
    this.rules = new Gauge({ name: 'metrichouse_ruler_group_rules', help: 'Rules in the group.', labelNames: ['group'], ...g })
    this.alerts = new Gauge({ name: 'metrichouse_ruler_alerts', help: 'Alerts by state, all rules.', labelNames: ['state'], ...g })
    this.reloadSuccess = new Gauge({ name: 'metrichouse_ruler_config_last_reload_successful', help: '1 when the last rule reload succeeded.', ...g })
    this.reloadTimestamp = new Gauge({ name: 'metrichouse_ruler_config_last_reload_success_timestamp_seconds', help: 'Time of the last successful rule reload.', ...g })
    this.notificationsSent = new Counter({ name: 'metrichouse_ruler_notifications_sent_total', help: 'Alerts sent to an Alertmanager (accepted).', labelNames: ['alertmanager'], ...g })
    this.notificationErrors = new Counter({ name: 'metrichouse_ruler_notification_errors_total', help: 'Alerts whose POST to an Alertmanager failed.', labelNames: ['alertmanager'], ...g })
    this.notificationsDropped = new Counter({ name: 'metrichouse_ruler_notifications_dropped_total', help: 'Alerts dropped because an Alertmanager queue was full.', labelNames: ['alertmanager'], ...g })
    this.notifierQueueLength = new Gauge({ name: 'metrichouse_ruler_notification_queue_length', help: 'Alerts waiting to be sent to an Alertmanager.', labelNames: ['alertmanager'], ...g })
    this.notifierLatency = new Histogram({ name: 'metrichouse_ruler_notification_latency_seconds', help: 'Duration of one POST /api/v2/alerts.', labelNames: ['alertmanager'], buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10], ...g })
    this.eventsPublished = new Counter({ name: 'metrichouse_ruler_alert_events_published_total', help: 'Alert state changes published to the Kafka topic.', ...g })
    this.eventErrors = new Counter({ name: 'metrichouse_ruler_alert_event_errors_total', help: 'Alert state changes that could not be published.', ...g })
  }
}
