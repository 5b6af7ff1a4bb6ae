/**
 * Rollup health as self-metrics, read from ClickHouse when /metrics is scraped: when each
 * refreshable view last succeeded, whether its last run failed, and the newest hour each stage
 * has reached (raw: samples inserted; 1m, 1h: rollups computed). The status page and the
 * alerts of examples/rules/metrichouse.yml read them; a failed read leaves the gauges empty in
 * that scrape rather than failing /metrics.
 */
import type { ClickHouseClient } from '@clickhouse/client'
import { Gauge, type Registry } from 'prom-client'
import type { Logger } from '../observability/logger.js'
import { ROLLUP_VIEWS } from './schema.js'

interface ViewRow {
  view: string
  last_success: number
  failing: number
}
interface StageRow {
  stage: string
  newest_hour: number
}

export function registerRollupMetrics(registry: Registry, client: ClickHouseClient, logger: Logger): void {
  // The registry collects its metrics concurrently: the three share one read per scrape.
  let reading: Promise<void> | undefined
  const collect = () => (reading ??= read().finally(() => (reading = undefined)))
  const lastSuccess = new Gauge({ name: 'metrichouse_rollup_last_success_timestamp_seconds', help: 'When the rollup refresh of this view last succeeded (0: not since the server started)', labelNames: ['view'], registers: [registry], collect })
  const failing = new Gauge({ name: 'metrichouse_rollup_refresh_failing', help: '1 when the last rollup refresh of this view failed', labelNames: ['view'], registers: [registry], collect })
  const newestHour = new Gauge({
    name: 'metrichouse_rollup_newest_hour_timestamp_seconds',
    help: 'Start of the newest hour each stage has reached: raw (samples inserted), 1m and 1h (rollups computed)',
    labelNames: ['stage'],
    registers: [registry],
    collect,
  })

  async function read(): Promise<void> {
    try {
      const [views, stages] = await Promise.all([
        client
          .query({
            query: `SELECT view, toUnixTimestamp(last_success_time) AS last_success, exception != '' AS failing FROM system.view_refreshes WHERE database = currentDatabase() AND view IN {views:Array(String)}`,
            query_params: { views: [...ROLLUP_VIEWS] },
            format: 'JSONEachRow',
          })
          .then((rs) => rs.json<ViewRow>()),
        client.query({ query: 'SELECT stage, toUnixTimestamp(max(hour)) AS newest_hour FROM rollup_progress GROUP BY stage', format: 'JSONEachRow' }).then((rs) => rs.json<StageRow>()),
      ])
      lastSuccess.reset()
      failing.reset()
      newestHour.reset()
      for (const v of views) {
        lastSuccess.set({ view: v.view }, Number(v.last_success))
        failing.set({ view: v.view }, Number(v.failing))
      }
      for (const s of stages) newestHour.set({ stage: s.stage }, Number(s.newest_hour))
    } catch (err) {
      lastSuccess.reset()
      failing.reset()
      newestHour.reset()
      logger.debug('could not read the rollup state for /metrics', { err })
    }
  }
}
