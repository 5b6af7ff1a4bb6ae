/**
 * A log record (WAL entry or Kafka message: a snappy-compressed prometheus.WriteRequest
 * written by a Sink after validation) -> rows for the SampleStore. Shared by the embedded
 * flusher and the Kafka ingester so both land identical rows.
 *
 * Every series is looked up by its raw label bytes in a SeriesCache: the same series come
 * in every record, so its id, metric name and insert row prefix are computed once, not per
 * sample (the second decode of each sample in this process, after the receiver's).
 */
import { decodeWriteRequestV1Cached } from '../proto/decode-v1-cached.js'
import type { Fingerprinter } from '../proto/fingerprint.js'
import { SeriesCache } from '../proto/series-cache.js'
import type { SnappyCodec } from '../proto/snappy.js'
import type { Label } from '../proto/types.js'
import { samplesRowPrefix, type SeriesSamples } from '../store/rowbinary-encoder.js'

// Records were validated before they were written; this only bounds a corrupt one.
const MAX_RECORD_UNCOMPRESSED_BYTES = 1 << 30

interface SeriesEntry {
  seriesId: bigint
  metricName: string
  labels: Label[]
  rowPrefix: Uint8Array
}

export class RecordDecoder {
  private readonly cache: SeriesCache<SeriesEntry>

  constructor(
    private readonly snappy: SnappyCodec,
    fingerprinter: Fingerprinter,
    cacheEntries?: number,
  ) {
    this.cache = new SeriesCache<SeriesEntry>(
      (labels) => {
        let metricName = ''
        for (const l of labels) if (l.name === '__name__') metricName = l.value
        const seriesId = fingerprinter.fingerprint(labels)
        return { seriesId, metricName, labels, rowPrefix: samplesRowPrefix(metricName, seriesId) }
      },
      { maxEntries: cacheEntries },
    )
  }

  decode(record: Uint8Array, into: SeriesSamples[] = []): SeriesSamples[] {
    const request = decodeWriteRequestV1Cached(this.snappy.uncompress(record, MAX_RECORD_UNCOMPRESSED_BYTES), this.cache)
    for (const s of request.series) {
      if (s.samples.length === 0) continue
      const e = s.entry
      into.push({ seriesId: e.seriesId, metricName: e.metricName, labels: e.labels, samples: s.samples, rowPrefix: e.rowPrefix })
    }
    return into
  }
}
