/**
 * Realistic remote-write payloads for benchmarks: series shaped like node_exporter's
 * output as Prometheus ships it (10 labels, sorted by name, values of realistic length).
 * Deterministic: the same arguments give the same bytes.
 */
import { encodeWriteRequestV1 } from '../proto/encode-v1.js'
import type { Label, Sample } from '../proto/types.js'
import { prng } from '../test/prng.js'

export interface NodeExporterPayload {
  /** The series as objects (what a decoder should give back). */
  series: { labels: Label[]; samples: Sample[] }[]
  /** Remote-write 1.0 protobuf, not compressed. */
  protobuf: Uint8Array
  sampleCount: number
}

const METRICS = [
  'node_cpu_seconds_total',
  'node_memory_MemAvailable_bytes',
  'node_disk_read_bytes_total',
  'node_disk_written_bytes_total',
  'node_network_receive_bytes_total',
  'node_network_transmit_bytes_total',
  'node_filesystem_avail_bytes',
  'node_load1',
]
const MODES = ['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user']
const REGIONS = ['eu-west-1', 'us-east-1', 'ap-south-1']
const ENVS = ['prod', 'staging']
const TEAMS = ['platform', 'storage', 'payments', 'search']

/**
 * `seriesCount` series with `samplesPerSeries` samples each, 15 s apart from `t0` (ms).
 * Series i is host i/64 of pool i/6400 ... so the label values vary the way a fleet's do.
 */
export function makeNodeExporterPayload(
  seriesCount: number,
  samplesPerSeries: number,
  t0: number,
): NodeExporterPayload {
  const rand = prng(seriesCount * 31 + samplesPerSeries)
  const series: NodeExporterPayload['series'] = []
  for (let i = 0; i < seriesCount; i++) {
    const host = Math.floor(i / 64)
    const pool = Math.floor(host / 100)
    const metric = METRICS[Math.floor(i / 8) % METRICS.length]
    const labels: Label[] = [
      { name: '__name__', value: metric },
      { name: 'cpu', value: String(Math.floor(i / 8) % 8) },
      { name: 'dc', value: `dc${pool % 4}` },
      { name: 'env', value: ENVS[pool % ENVS.length] },
      { name: 'instance', value: `srv-${pool}-${host % 100}.pool-${pool}.internal:9100` },
      { name: 'job', value: 'node' },
      { name: 'mode', value: MODES[i % MODES.length] },
      { name: 'pool', value: `pool-${pool}` },
      { name: 'region', value: REGIONS[pool % REGIONS.length] },
      { name: 'team', value: TEAMS[pool % TEAMS.length] },
    ]
    const samples: Sample[] = []
    let v = rand() * 1e6
    for (let k = 0; k < samplesPerSeries; k++) {
      v += rand() * 100
      samples.push({ timestampMs: t0 + k * 15_000 + Math.floor(rand() * 20), value: Math.round(v * 100) / 100 })
    }
    series.push({ labels, samples })
  }
  return { series, protobuf: encodeWriteRequestV1(series), sampleCount: seriesCount * samplesPerSeries }
}

/**
 * `requests` consecutive scrapes of the same `seriesCount` series, 15 s apart: what one
 * remote-write shard receives (same label bytes every time, new timestamps).
 */
export function makeNodeExporterScrapes(requests: number, seriesCount: number, t0: number): Uint8Array[] {
  return Array.from({ length: requests }, (_, i) => makeNodeExporterPayload(seriesCount, 1, t0 + i * 15_000).protobuf)
}
