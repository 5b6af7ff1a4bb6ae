/**
 * Decode-path benchmark, one thread: snappy -> remote-write 1.0 decode -> fingerprint,
 * on node_exporter-like requests (2000 series x 1 sample, 10 labels each), compared with
 * the generic path (snappyjs + protobufjs). Run: node --import tsx bench/decode.ts
 */
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import * as snappyjs from 'snappyjs'
import { decodeWriteRequestV1 } from '../proto/decode-v1.js'
import { encodeWriteRequestV1 } from '../proto/encode-v1.js'
import { Fingerprinter } from '../proto/fingerprint.js'
import { LabelCache } from '../proto/label-cache.js'
import { createSnappyCodec, uncompressSnappyJs } from '../proto/snappy.js'
import { makeNodeExporterPayload } from './payloads.js'

export interface DecodeBenchResult {
  name: string
  samplesPerSec: number
}

const MAX_BODY = 64 << 20

/** Runs fn repeatedly for about `ms` after a warm-up; returns calls per second. */
function rate(fn: () => unknown, ms = 1000): number {
  const warmUntil = performance.now() + ms / 4
  while (performance.now() < warmUntil) fn()
  let calls = 0
  const start = performance.now()
  let now = start
  while (now - start < ms) {
    fn()
    calls++
    now = performance.now()
  }
  return (calls * 1000) / (now - start)
}

export async function benchDecode(options: { ms?: number } = {}): Promise<DecodeBenchResult[]> {
  const ms = options.ms ?? 1000
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
  const warm = new LabelCache()

  let sink = 0n
  const fingerprintAll = (series: { labels: { name: string; value: string }[] }[]): void => {
    for (const s of series) sink ^= fp.fingerprint(s.labels)
  }
  const cases: [string, () => unknown][] = [
    [`snappy ${native.implementation} uncompress`, () => native.uncompress(compressed, MAX_BODY)],
    ['snappy js (proto/snappy.ts) uncompress', () => uncompressSnappyJs(compressed, MAX_BODY)],
    ['snappyjs uncompress', () => snappyjs.uncompress(compressed)],
    ['decode-v1 (zero-copy)', () => decodeWriteRequestV1(raw)],
    ['decode-v1 + warm LabelCache', () => decodeWriteRequestV1(raw, warm)],
    ['decode-v1 + cold LabelCache', () => decodeWriteRequestV1(raw, new LabelCache(1 << 14))],
    ['protobufjs decode', () => WriteRequest.decode(raw)],
    ['fingerprint (xxhash-wasm)', () => fingerprintAll(decoded.series)],
    ['encode-v1', () => encodeWriteRequestV1(decoded.series)],
    ['protobufjs encode', () => WriteRequest.encode(WriteRequest.fromObject(payload.series.length ? { timeseries: decoded.series.map((s) => ({ labels: s.labels, samples: s.samples.map((x) => ({ value: x.value, timestamp: x.timestampMs })) })) } : {})).finish()],
    [`${native.implementation} snappy + decode-v1 + fingerprint`, () => fingerprintAll(decodeWriteRequestV1(native.uncompress(compressed, MAX_BODY)).series)],
    [`${native.implementation} snappy + decode-v1 + warm LabelCache + fingerprint`, () => fingerprintAll(decodeWriteRequestV1(native.uncompress(compressed, MAX_BODY), warm).series)],
    [`${js.implementation} snappy + decode-v1 + fingerprint`, () => fingerprintAll(decodeWriteRequestV1(js.uncompress(compressed, MAX_BODY)).series)],
    ['snappyjs + protobufjs decode (baseline)', () => WriteRequest.decode(snappyjs.uncompress(compressed))],
  ]
  const results: DecodeBenchResult[] = []
  for (const [name, fn] of cases) results.push({ name, samplesPerSec: Math.round(rate(fn, ms) * n) })
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
  const results = await benchDecode()
  const width = Math.max(...results.map((r) => r.name.length))
  console.log(`${'case'.padEnd(width)}  samples/s`)
  for (const r of results) console.log(`${r.name.padEnd(width)}  ${r.samplesPerSec.toLocaleString('en-US').padStart(12)}`)
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main()
}
