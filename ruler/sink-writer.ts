/**
 * Writes rule results into the write path's Sink (the WAL in `serve`, Kafka in scale-out), so
 * recording-rule series and ALERTS/ALERTS_FOR_STATE land in ClickHouse like scraped data and
 * are queryable by everyone. Staleness markers keep their exact NaN bits.
 */
import type { AcceptedSeries, Sink } from '../adapter/sink.js'
import { compareUtf8, Fingerprinter } from '../proto/fingerprint.js'
import type { OutputSample, SampleWriter } from './types.js'

import { STALE_NAN_BITS } from '../proto/stale-marker.js'

export class SinkSampleWriter implements SampleWriter {
  constructor(
    private readonly sink: Sink,
    private readonly fingerprinter: Fingerprinter,
  ) {}

  async write(samples: readonly OutputSample[]): Promise<void> {
    const bySeries = new Map<bigint, AcceptedSeries>()
    for (const s of samples) {
      const labels = Object.entries(s.labels)
        .filter(([, v]) => v !== '')
        .map(([name, value]) => ({ name, value }))
        .sort((a, b) => compareUtf8(a.name, b.name))
      const seriesId = this.fingerprinter.fingerprint(labels)
      let series = bySeries.get(seriesId)
      if (!series) bySeries.set(seriesId, (series = { ref: { id: seriesId, metricName: s.labels.__name__ ?? '', labels }, samples: [] }))
      series.samples.push(s.stale ? { timestampMs: s.timestampMs, value: NaN, nanBits: STALE_NAN_BITS } : { timestampMs: s.timestampMs, value: s.value })
    }
    const series = [...bySeries.values()]
    await this.sink.write({ series, metadata: [], sampleCount: samples.length })
  }
}
