/**
 * POST /api/v1/write: remote-write 1.0 and 2.0 -> validate -> Sink. Answers 204 only after
 * the sink made the accepted series durable; the sender's retries cover everything else.
 */
import type { NextFunction, Request, Response } from 'express'
import type { ValidationLimits } from '../config/config.js'
import { BadRequestError, PayloadTooLargeError, ServiceUnavailableError, TooManyRequestsError } from '../errors/http-errors.js'
import type { InFlightBudget } from '../http/in-flight-budget.js'
import { readBody } from '../http/read-body.js'
import { decodeWriteRequestV1Cached } from '../proto/decode-v1-cached.js'
import { decodeWriteRequestV2 } from '../proto/decode-v2.js'
import { countSeries } from '../proto/count-series.js'
import { SeriesCache } from '../proto/series-cache.js'
import type { Fingerprinter } from '../proto/fingerprint.js'
import { snappyUncompressedLength, type SnappyCodec } from '../proto/snappy.js'
import type { DecodedSeries, MetricMetadata } from '../proto/types.js'
import { remoteWriteVersion } from './content-type.js'
import type { MetadataSink } from './metadata-recorder.js'
import { countFailedRequest } from './request-outcome.js'
import type { ReceiverMetrics } from './metrics.js'
import type { Sink } from './sink.js'
import { judgeAll, judgeLabels, validateSeries, type HaLabels, type JudgedSeries, type Rejection, type SeriesVerdict } from './validate.js'
import type { HaTracker } from './ha-tracker.js'

export interface RemoteWriteHandlerOptions {
  sink: Sink
  snappy: SnappyCodec
  fingerprinter: Fingerprinter
  metrics: ReceiverMetrics
  limits: ValidationLimits & { maxRequestBodyBytes: number; maxDecompressedBytes: number; maxConcurrentWrites: number; bodyReadTimeoutMs: number; maxSamplesPerRequest: number; maxSamplesPerSeries: number }
  /** Server-wide bytes of requests in flight; a request that would pass it gets 429. */
  budget?: InFlightBudget
  rawRetentionMs: number
  now?: () => number
  /** HA pairs: only the elected replica's requests are stored (absent: every request). */
  ha?: { tracker: HaTracker; labels: HaLabels }
  /** Where the requests' metric metadata goes (absent: dropped). */
  metadata?: MetadataSink
  /** Label sets remembered with their verdict (default 1M; about 150 bytes each plus the key). */
  seriesCacheEntries?: number
}

const REJECTS_NAMED = 3
/** In-flight bytes charged per byte of decompressed protobuf for the decoded series (an estimate: sample objects and label strings). */
const DECODED_PER_WIRE_BYTE = 2

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/** The 400 message of a partly refused request: counts and the first rejects by name. */
export function describeRejections(rejections: Rejection[], totalSeries: number, storedSeries: number): string {
  const seriesCount = new Set(rejections.map((r) => r.seriesIndex)).size
  const samples = rejections.reduce((n, r) => n + r.samples, 0)
  const named = rejections.slice(0, REJECTS_NAMED).map((r) => `series ${r.seriesIndex}: ${r.message}`)
  const more = rejections.length > REJECTS_NAMED ? `; and ${rejections.length - REJECTS_NAMED} more` : ''
  const stored = storedSeries === 0 ? 'nothing was stored' : `${storedSeries} valid series stored`
  return `rejected ${plural(samples, 'sample')} of ${seriesCount} of ${totalSeries} series (${stored}): ${named.join('; ')}${more}`
}

type Stage = 'content_type' | 'body' | 'concurrency' | 'snappy' | 'protobuf' | 'series_limit' | 'sample_limit' | 'ha' | 'validation' | 'sink'

function requestRejectReason(stage: Stage, status: number): string {
  switch (stage) {
    case 'content_type':
      return 'unsupported_media_type'
    case 'body':
      return status === 413 ? 'body_too_large' : status === 408 ? 'body_timeout' : status === 429 ? 'memory_budget' : 'body_invalid'
    case 'concurrency':
      return 'too_many_in_flight'
    case 'snappy':
      return status === 413 ? 'decompressed_too_large' : status === 429 ? 'memory_budget' : 'malformed_snappy'
    case 'protobuf':
      return 'malformed_protobuf'
    case 'series_limit':
      return 'too_many_series'
    case 'sample_limit':
      return 'too_many_samples'
    case 'ha':
      return 'ha_store_unavailable'
    default:
      return 'sink_unavailable'
  }
}

/** Remote write 2.0 carries metadata per series: one entry per metric name of the request. */
function seriesMetadata(series: readonly DecodedSeries[]): MetricMetadata[] {
  const byName = new Map<string, MetricMetadata>()
  for (const s of series) {
    const m = s.metadata
    if (!m || (m.type === 'unknown' && m.help === '' && m.unit === '')) continue
    const name = s.labels.find((l) => l.name === '__name__')?.value
    if (name !== undefined && !byName.has(name)) byName.set(name, { metricFamilyName: name, type: m.type, help: m.help, unit: m.unit })
  }
  return [...byName.values()]
}

export function remoteWriteHandler(opts: RemoteWriteHandlerOptions) {
  const now = opts.now ?? Date.now
  // The same series arrive scrape after scrape: judge (validate + fingerprint) each label
  // set once, keyed by its raw bytes, instead of decoding its strings on every request.
  const verdicts = new SeriesCache<SeriesVerdict>((labels) => judgeLabels(labels, opts.limits, opts.fingerprinter, opts.ha?.labels), { maxEntries: opts.seriesCacheEntries })
  let inFlight = 0
  return async (req: Request, res: Response, next: NextFunction) => {
    let protocol = 'unknown'
    // Where the request got to: names the reason when it is refused as a whole.
    let stage: Stage = 'content_type'
    const started = performance.now()
    // Bodies are read before a write slot is taken: a client that sends slowly holds only
    // its connection (bounded by the connection cap and the body deadline) and the bytes it
    // sent (bounded by the budget), never one of the slots that legitimate writes need.
    const lease = opts.budget?.lease()
    let holdsSlot = false
    try {
      const version = remoteWriteVersion(req.headers['content-type'], req.headers['content-encoding'])
      protocol = version
      stage = 'body'
      const body = await readBody(req, opts.limits.maxRequestBodyBytes, { timeoutMs: opts.limits.bodyReadTimeoutMs, lease })
      opts.metrics.receivedBytes.inc({ protocol }, body.length)
      stage = 'concurrency'
      if (inFlight >= opts.limits.maxConcurrentWrites) {
        throw new TooManyRequestsError(`more than ${opts.limits.maxConcurrentWrites} write requests in flight`, 1)
      }
      inFlight++
      holdsSlot = true
      stage = 'body'
      if (body.length === 0) throw new BadRequestError('empty request body')
      stage = 'snappy'
      const claimed = snappyUncompressedLength(body)
      if (claimed > opts.limits.maxDecompressedBytes) {
        throw new PayloadTooLargeError(`snappy body claims ${claimed} bytes uncompressed, over the limit of ${opts.limits.maxDecompressedBytes}`)
      }
      if (lease && !lease.grow(claimed)) {
        throw new TooManyRequestsError(`server busy: in-flight request memory is at its limit of ${lease.budgetBytes} bytes`, 1)
      }
      const raw = opts.snappy.uncompress(body, opts.limits.maxDecompressedBytes)
      stage = 'protobuf'
      const seriesCount = countSeries(raw, version)
      stage = 'series_limit'
      if (seriesCount > opts.limits.maxSeriesPerRequest) {
        throw new PayloadTooLargeError(`${seriesCount} series in one request, over the limit of ${opts.limits.maxSeriesPerRequest}`)
      }
      stage = 'protobuf'
      // The decoded request is charged before it exists: an estimate of DECODED_PER_WIRE_BYTE
      // bytes of decoded series per byte of protobuf.
      if (lease && !lease.grow(raw.byteLength * DECODED_PER_WIRE_BYTE)) {
        throw new TooManyRequestsError(`server busy: in-flight request memory is at its limit of ${lease.budgetBytes} bytes`, 1)
      }
      let judged: JudgedSeries[]
      let metadata: MetricMetadata[]
      let exemplars = 0
      if (version === '1.0') {
        const request = decodeWriteRequestV1Cached(raw, verdicts)
        judged = request.series.map((s) => ({ verdict: s.entry, samples: s.samples, histogramCount: s.histogramCount }))
        for (const s of request.series) exemplars += s.exemplarCount
        metadata = request.metadata
      } else {
        const request = decodeWriteRequestV2(raw)
        judged = judgeAll(request.series, opts.limits, opts.fingerprinter, opts.ha?.labels)
        for (const s of request.series) exemplars += s.exemplarCount
        metadata = request.metadata
        if (opts.metadata) opts.metadata.record(seriesMetadata(request.series))
      }
      opts.metadata?.record(metadata)
      stage = 'series_limit'
      if (judged.length > opts.limits.maxSeriesPerRequest) {
        throw new PayloadTooLargeError(`${judged.length} series in one request, over the limit of ${opts.limits.maxSeriesPerRequest}`)
      }
      let received = 0
      let longest = 0
      for (const s of judged) {
        received += s.samples.length
        longest = Math.max(longest, s.samples.length)
      }
      stage = 'sample_limit'
      // Before anything is stored: one series of 2.5M samples in one request, accepted, took
      // the server to 10 GB and broke every later rollup refresh.
      if (received > opts.limits.maxSamplesPerRequest) {
        throw new PayloadTooLargeError(`${received} samples in one request, over the limit of ${opts.limits.maxSamplesPerRequest}`)
      }
      if (longest > opts.limits.maxSamplesPerSeries) {
        throw new PayloadTooLargeError(`a series with ${longest} samples in one request, over the limit of ${opts.limits.maxSamplesPerSeries} per series`)
      }
      opts.metrics.samplesReceived.inc({ protocol }, received)
      if (exemplars > 0) opts.metrics.exemplarsDropped.inc(exemplars)

      // As Mimir: the first series names the request's cluster and replica.
      const ha = opts.ha && judged[0]?.verdict.ha
      if (ha) {
        stage = 'ha'
        let elected: boolean
        try {
          elected = await opts.ha!.tracker.accepts(ha.cluster, ha.replica)
        } catch (err) {
          throw new ServiceUnavailableError(`HA election store unavailable: ${(err as Error).message}`, 5, { cause: err })
        }
        if (!elected) {
          opts.ha!.tracker.deduplicated.inc(received)
          opts.metrics.requests.inc({ protocol, code: '202' })
          res.status(202).type('text/plain').send(`replica "${ha.replica}" is not the elected replica of cluster "${ha.cluster}": samples not stored\n`)
          return
        }
      }

      stage = 'validation'
      const nowMs = now()
      const result = validateSeries(judged, { limits: opts.limits, nowMs, minTimestampMs: nowMs - opts.rawRetentionMs })
      for (const r of result.rejections) opts.metrics.samplesRejected.inc({ reason: r.reason }, r.samples)

      if (result.accepted.length > 0) {
        stage = 'sink'
        await opts.sink.write({
          series: result.accepted,
          metadata,
          sampleCount: result.acceptedSamples,
          originalRw1Snappy: version === '1.0' && result.unchanged ? body : undefined,
          originalRw1: version === '1.0' && result.unchanged ? raw : undefined,
          requestId: opts.fingerprinter.hashBytes(body),
        })
        opts.metrics.samplesAccepted.inc({ protocol }, result.acceptedSamples)
        opts.metrics.seriesAccepted.inc({ protocol }, result.accepted.length)
      }
      if (version === '2.0') {
        res.setHeader('X-Prometheus-Remote-Write-Samples-Written', String(result.acceptedSamples))
        res.setHeader('X-Prometheus-Remote-Write-Histograms-Written', '0')
        res.setHeader('X-Prometheus-Remote-Write-Exemplars-Written', '0')
      }
      stage = 'validation'
      if (result.rejections.length > 0) throw new BadRequestError(describeRejections(result.rejections, judged.length, result.accepted.length))
      opts.metrics.requests.inc({ protocol, code: '204' })
      res.status(204).end()
    } catch (err) {
      const reached = stage
      countFailedRequest(opts.metrics, protocol, err, reached === 'validation' ? undefined : (status) => requestRejectReason(reached, status))
      next(err)
    } finally {
      if (holdsSlot) inFlight--
      lease?.release()
      opts.metrics.duration.observe({ protocol }, (performance.now() - started) / 1000)
    }
  }
}
