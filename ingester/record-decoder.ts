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
import type { SeriesRef, SeriesSamples } from '../proto/series-ref.js'

// Records were validated before they were written; this only bounds a corrupt one.
const MAX_RECORD_UNCOMPRESSED_BYTES = 1 << 30

export class RecordDecoder {
  private readonly cache: SeriesCache<SeriesRef>

  constructor(
    private readonly snappy: SnappyCodec,
    fingerprinter: Fingerprinter,
    cacheEntries?: number,
  ) {
    this.cache = new SeriesCache<SeriesRef>(
      (labels) => {
        let metricName = ''
        for (const l of labels) if (l.name === '__name__') metricName = l.value
        return { id: fingerprinter.fingerprint(labels), metricName, labels }
      },
      { maxEntries: cacheEntries },
    )
  }

  decode(record: Uint8Array, into: SeriesSamples[] = []): SeriesSamples[] {
    const request = decodeWriteRequestV1Cached(this.snappy.uncompress(record, MAX_RECORD_UNCOMPRESSED_BYTES), this.cache)
    for (const s of request.series) {
      if (s.samples.length === 0) continue
      into.push({ ref: s.entry, samples: s.samples })
    }
    return into
  }
}
