/**
 * A log record (WAL entry or Kafka message: a snappy-compressed prometheus.WriteRequest
 * written by a Sink after validation) -> rows for the SampleStore. Shared by the embedded
 * flusher and the Kafka ingester so both land identical rows.
 */
import { decodeWriteRequestV1 } from '../proto/decode-v1.js'
import type { Fingerprinter } from '../proto/fingerprint.js'
import type { SnappyCodec } from '../proto/snappy.js'
import type { SeriesSamples } from '../store/tsv-encoder.js'

// Records were validated before they were written; this only bounds a corrupt one.
const MAX_RECORD_UNCOMPRESSED_BYTES = 1 << 30

export class RecordDecoder {
  constructor(
    private readonly snappy: SnappyCodec,
    private readonly fingerprinter: Fingerprinter,
  ) {}

  decode(record: Uint8Array, into: SeriesSamples[] = []): SeriesSamples[] {
    const request = decodeWriteRequestV1(this.snappy.uncompress(record, MAX_RECORD_UNCOMPRESSED_BYTES))
    for (const s of request.series) {
      if (s.samples.length === 0) continue
      let metricName = ''
      for (const l of s.labels) if (l.name === '__name__') metricName = l.value
      into.push({ seriesId: this.fingerprinter.fingerprint(s.labels), metricName, labels: s.labels, samples: s.samples })
    }
    return into
  }
}
