/**
 * Decode-path benchmark, one thread: snappy -> remote-write 1.0 decode -> fingerprint,
 * on node_exporter-like requests (2000 series x 1 sample, 10 labels each), compared with
 * the generic path (snappyjs + protobufjs). Run: node --import tsx bench/decode.ts [comma-separated case-name substrings]
 *
 * Rates are samples per CPU-second of this process (process.cpuUsage), median of 5
 * rounds, so that a busy machine (other test runs) slows the figures less than wall time
 * would; the wall-clock median is reported beside it. The cached cases cycle through 100
 * scrapes of the same 2000 series (new timestamps each), as one remote-write shard sees.
 */
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import * as snappyjs from 'snappyjs'
import { decodeWriteRequestV1 } from '../proto/decode-v1.js'
import { encodeWriteRequestV1 } from '../proto/encode-v1.js'
import { Fingerprinter } from '../proto/fingerprint.js'
import { decodeWriteRequestV1Cached } from '../proto/decode-v1-cached.js'
import { SeriesCache } from '../proto/series-cache.js'
import { createSnappyCodec, uncompressSnappyJs } from '../proto/snappy.js'
import type { Label } from '../proto/types.js'
import { makeNodeExporterPayload, makeNodeExporterScrapes } from './payloads.js'

export interface DecodeBenchResult {
  name: string
  /** Samples per CPU-second (one core), median of 5 rounds. */
  samplesPerSec: number
  /** Samples per wall-clock second, median of 5 rounds. */
  wallSamplesPerSec: number
}

/** What the adapter keeps per series: computed once, on a cache miss. */
interface SeriesEntry {
  seriesId: bigint
  metricName: string
}

const MAX_BODY = 64 << 20

const ROUNDS = 5

function cpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/**
 * Runs fn for about `ms` after a warm-up, ROUNDS times; returns the median calls per
 * CPU-second and per wall-clock second.
 */
function rate(fn: () => unknown, ms = 1000): { cpu: number; wall: number } {
  const warmUntil = performance.now() + ms / 4
  while (performance.now() < warmUntil) fn()
  const cpu: number[] = []
  const wall: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    let calls = 0
    const cpu0 = cpuMs()
    const start = performance.now()
    let now = start
    while (now - start < ms / ROUNDS) {
      fn()
      calls++
      now = performance.now()
    }
    cpu.push((calls * 1000) / Math.max(cpuMs() - cpu0, 1e-3))
    wall.push((calls * 1000) / (now - start))
  }
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1]
  return { cpu: median(cpu), wall: median(wall) }
}

/** `only`: run just the cases whose name contains one of its comma-separated parts. */
export async function benchDecode(options: { ms?: number; only?: string } = {}): Promise<DecodeBenchResult[]> {
  const ms = options.ms ?? 2000
  const payload = makeNodeExporterPayload(2000, 1, 1_700_000_000_000)
  const n = payload.sampleCount
  const native = await createSnappyCodec({ prefer: 'native' })
  const js = await createSnappyCodec({ prefer: 'js' })
  const compressed = native.compress(payload.protobuf)
  const fp = await Fingerprinter.create()
  const root = protobuf.loadSync(fileURLToPath(new URL('../proto/remote-write-v1.proto', import.meta.url)))
  const WriteRequest = root.lookupType('prometheus.WriteRequest')
  const raw = payload.protobuf
  const decoded = decodeWriteRequestV1(raw)
  // A long-lived cache, as the adapter keeps one: the same series come every scrape.
  const scrapes = makeNodeExporterScrapes(100, 2000, 1_700_000_000_000).map((b) => native.compress(b))
  let next = 0
  const scrape = (): Uint8Array => scrapes[next++ % scrapes.length]
  const entryOf = (labels: Label[]): SeriesEntry => ({
    seriesId: fp.fingerprint(labels),
    metricName: labels.find((l) => l.name === '__name__')?.value ?? '',
  })
  const seriesCache = new SeriesCache(entryOf)
  const rawScrapes = scrapes.map((c) => native.uncompress(c, MAX_BODY))
  decodeWriteRequestV1Cached(rawScrapes[0], seriesCache)
  const useEntries = (d: { series: { entry: SeriesEntry }[] }): void => {
    for (const s of d.series) sink ^= s.entry.seriesId
  }

  let sink = 0n
  const fingerprintAll = (series: { labels: { name: string; value: string }[] }[]): void => {
    for (const s of series) sink ^= fp.fingerprint(s.labels)
  }
  const cases: [string, () => unknown][] = [
    [`snappy ${native.implementation} uncompress`, () => native.uncompress(compressed, MAX_BODY)],
    ['snappy js (proto/snappy.ts) uncompress', () => uncompressSnappyJs(compressed, MAX_BODY)],
    ['snappyjs uncompress', () => snappyjs.uncompress(compressed)],
    ['decode-v1 (zero-copy)', () => decodeWriteRequestV1(raw)],
    ['protobufjs decode', () => WriteRequest.decode(raw)],
    ['fingerprint (xxhash-wasm)', () => fingerprintAll(decoded.series)],
    ['encode-v1', () => encodeWriteRequestV1(decoded.series)],
    ['protobufjs encode', () => WriteRequest.encode(WriteRequest.fromObject(payload.series.length ? { timeseries: decoded.series.map((s) => ({ labels: s.labels, samples: s.samples.map((x) => ({ value: x.value, timestamp: x.timestampMs })) })) } : {})).finish()],
    [`${native.implementation} snappy + decode-v1 + fingerprint`, () => fingerprintAll(decodeWriteRequestV1(native.uncompress(compressed, MAX_BODY)).series)],
    [`${js.implementation} snappy + decode-v1 + fingerprint`, () => fingerprintAll(decodeWriteRequestV1(js.uncompress(compressed, MAX_BODY)).series)],
    ['snappyjs + protobufjs decode (baseline)', () => WriteRequest.decode(snappyjs.uncompress(compressed))],
    ['cached decode (warm SeriesCache) + entry lookup, no snappy', () => useEntries(decodeWriteRequestV1Cached(rawScrapes[next++ % 100], seriesCache))],
    [`${js.implementation} snappy + cached decode (warm cache) + entry lookup`, () => useEntries(decodeWriteRequestV1Cached(js.uncompress(scrape(), MAX_BODY), seriesCache))],
    [`${native.implementation} snappy + cached decode (warm cache) + entry lookup`, () => useEntries(decodeWriteRequestV1Cached(native.uncompress(scrape(), MAX_BODY), seriesCache))],
    // Every series new: strings, fingerprint and key copy for all 2000 (a fresh, right-sized cache per request).
    [`${js.implementation} snappy + cached decode (cold cache) + entry lookup`, () => useEntries(decodeWriteRequestV1Cached(js.uncompress(scrape(), MAX_BODY), new SeriesCache(entryOf, { maxEntries: 4096 })))],
  ]
  const results: DecodeBenchResult[] = []
  for (const [name, fn] of cases) {
    if (options.only !== undefined && !options.only.split(',').some((part) => name.includes(part))) continue
    const r = rate(fn, ms)
    results.push({ name, samplesPerSec: Math.round(r.cpu * n), wallSamplesPerSec: Math.round(r.wall * n) })
  }
  if (sink === 1n) console.log('') // keeps the fingerprints observable
  return results
}

async function main(): Promise<void> {
  const payload = makeNodeExporterPayload(2000, 1, 1_700_000_000_000)
  const codec = await createSnappyCodec()
  const compressed = codec.compress(payload.protobuf)
  console.log(
    `payload: ${payload.sampleCount} samples, ${payload.protobuf.length} bytes protobuf, ` +
      `${compressed.length} bytes snappy; node ${process.version}; ${new Date().toISOString().slice(0, 10)}`,
  )
  const results = await benchDecode({ only: process.argv[2] })
  const width = Math.max(...results.map((r) => r.name.length))
  console.log(`${'case'.padEnd(width)}  samples/cpu-s  samples/wall-s`)
  for (const r of results) {
    console.log(`${r.name.padEnd(width)}  ${r.samplesPerSec.toLocaleString('en-US').padStart(13)}  ${r.wallSamplesPerSec.toLocaleString('en-US').padStart(14)}`)
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main()
}
