/**
 * Publishes alert state changes (pending, firing, resolved) to a Kafka topic: the seed's
 * alert-event stream. One JSON message per change, keyed by the alert's labels so that one
 * alert's changes stay in order on one partition. The producer is idempotent with acks=all,
 * so a retried send is not duplicated by the broker; a change is published after the
 * evaluation that made it, and an evaluation whose publish failed is counted
 * (metrichouse_ruler_alert_event_errors_total) and not retried: the next change of the same
 * alert carries its full state again, so consumers converge.
 */
import type { Producer } from 'kafkajs'
import type { AlertEvent, AlertEventSink } from './group.js'
import { labelsKey } from './types.js'

export class KafkaAlertEvents implements AlertEventSink {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly source: { externalLabels: Record<string, string>; generator: string },
  ) {}

  async publish(events: readonly AlertEvent[]): Promise<void> {
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: events.map((e) => ({
        key: labelsKey(e.labels),
        value: JSON.stringify({
          group: e.group,
          rule: e.rule,
          labels: { ...this.source.externalLabels, ...e.labels },
          annotations: e.annotations,
          from: e.from,
          to: e.to,
          timestamp: new Date(e.timestampMs).toISOString(),
          value: Number.isFinite(e.value) ? e.value : String(e.value),
          generator: this.source.generator,
        }),
        timestamp: String(e.timestampMs),
      })),
    })
  }
}
