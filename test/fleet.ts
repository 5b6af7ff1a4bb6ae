/**
 * A deterministic fleet of servers, the seed's use case in miniature: pools of hosts in
 * regions with roles (web, db, queue), each reporting CPU seconds by mode, memory, HTTP
 * requests (web) and queue depth (queue) every 15 s. Used by the Grafana dashboard test,
 * the differential test against Prometheus and the query bench, which all need the same
 * data on both sides. Counters reset once (host 1 of pool 0 restarts) so rate() and
 * increase() meet a reset; one series ends with a stale marker.
 */
import { encodeWriteRequestV1 } from '../proto/encode-v1.js'
import type { Label, Sample } from '../proto/types.js'
import type { SnappyCodec } from '../proto/snappy.js'
import type { LoadSeries } from '../query/series-loader.js'
import { prng } from './prng.js'

import { STALE_NAN_BITS } from '../proto/stale-marker.js'
export const SCRAPE_MS = 15_000

export interface FleetOptions {
  pools: number
  hostsPerPool: number
  /** First sample time (ms); aligned to the scrape interval by the caller if wanted. */
  start: number
  samplesPerSeries: number
  /** Interval between samples (default 15 s). */
  intervalMs?: number
}

export interface FleetSeries {
  labels: Label[]
  samples: Sample[]
}

const REGIONS = ['eu-west', 'us-east']
const ROLES = ['web', 'db', 'queue']

/** Series per host: 3 CPU modes + 2 memory + (web: 2 request codes | queue: 1 depth). */
export function makeFleet(opts: FleetOptions): FleetSeries[] {
  const interval = opts.intervalMs ?? SCRAPE_MS
  const rand = prng(opts.pools * 1000 + opts.hostsPerPool)
  const out: FleetSeries[] = []
  for (let p = 0; p < opts.pools; p++) {
    const role = ROLES[p % ROLES.length]
    const region = REGIONS[Math.floor(p / ROLES.length) % REGIONS.length]
    for (let h = 0; h < opts.hostsPerPool; h++) {
      const base = [
        { name: 'host', value: `pool${p}-host${h}` },
        { name: 'instance', value: `pool${p}-host${h}:9100` },
        { name: 'job', value: 'node' },
        { name: 'pool', value: `pool${p}` },
        { name: 'region', value: region },
        { name: 'role', value: role },
      ]
      const resetAt = p === 0 && h === 1 ? Math.floor(opts.samplesPerSeries / 2) : -1
      const counter = (name: string, extra: Label[], perSample: () => number): FleetSeries => {
        const samples: Sample[] = []
        let v = Math.round(rand() * 1000)
        for (let i = 0; i < opts.samplesPerSeries; i++) {
          if (i === resetAt) v = 0
          v += perSample()
          samples.push({ timestampMs: opts.start + i * interval, value: Math.round(v * 1000) / 1000 })
        }
        return { labels: sortLabels([{ name: '__name__', value: name }, ...base, ...extra]), samples }
      }
      const gauge = (name: string, extra: Label[], at: (i: number) => number): FleetSeries => ({
        labels: sortLabels([{ name: '__name__', value: name }, ...base, ...extra]),
        samples: Array.from({ length: opts.samplesPerSeries }, (_, i) => ({ timestampMs: opts.start + i * interval, value: at(i) })),
      })
      const busy = 0.2 + 0.6 * rand()
      out.push(counter('node_cpu_seconds_total', [{ name: 'mode', value: 'idle' }], () => (interval / 1000) * (1 - busy) * (0.9 + 0.2 * rand())))
      out.push(counter('node_cpu_seconds_total', [{ name: 'mode', value: 'user' }], () => (interval / 1000) * busy * 0.7 * (0.9 + 0.2 * rand())))
      out.push(counter('node_cpu_seconds_total', [{ name: 'mode', value: 'system' }], () => (interval / 1000) * busy * 0.3 * (0.9 + 0.2 * rand())))
      const total = 16 * 2 ** 30
      out.push(gauge('node_memory_MemTotal_bytes', [], () => total))
      const used = 0.3 + 0.5 * rand()
      out.push(gauge('node_memory_MemAvailable_bytes', [], (i) => Math.round(total * (1 - used) * (1 + 0.05 * Math.sin(i / 20)))))
      if (role === 'web') {
        const rps = 50 + 200 * rand()
        out.push(counter('http_requests_total', [{ name: 'code', value: '200' }], () => Math.round(rps * (interval / 1000) * (0.8 + 0.4 * rand()))))
        out.push(counter('http_requests_total', [{ name: 'code', value: '500' }], () => (rand() < 0.3 ? 1 : 0)))
      }
      if (role === 'queue') {
        out.push(gauge('queue_depth', [{ name: 'queue', value: 'jobs' }], (i) => Math.round(100 + 80 * Math.sin(i / 15 + h) + 20 * rand())))
      }
    }
  }
  // The last host of the fleet goes away: its memory series ends with a stale marker.
  const last = [...out].reverse().find((s) => s.labels.some((l) => l.value === 'node_memory_MemAvailable_bytes'))
  if (last) last.samples.push({ timestampMs: opts.start + opts.samplesPerSeries * interval, value: NaN, nanBits: STALE_NAN_BITS })
  return out
}

function sortLabels(labels: Label[]): Label[] {
  return labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/**
 * Sends the fleet by remote write 1.0, `samplesPerRequest` at a time in time order (as a
 * Prometheus queue would: every series' samples advance together), to each URL.
 */
export async function remoteWriteFleet(
  fleet: readonly FleetSeries[],
  urls: readonly string[],
  snappy: SnappyCodec,
  opts: { samplesPerRequest?: number; headers?: Record<string, string> } = {},
): Promise<number> {
  const perRequest = opts.samplesPerRequest ?? 20_000
  const length = Math.max(...fleet.map((s) => s.samples.length))
  const columnsPerRequest = Math.max(1, Math.floor(perRequest / Math.max(1, fleet.length)))
  let sent = 0
  for (let from = 0; from < length; from += columnsPerRequest) {
    const batch = fleet
      .map((s) => ({ labels: s.labels, samples: s.samples.slice(from, from + columnsPerRequest) }))
      .filter((s) => s.samples.length > 0)
    const body = Buffer.from(snappy.compress(encodeWriteRequestV1(batch)))
    for (const url of urls) {
      const response = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0', ...opts.headers },
        signal: AbortSignal.timeout(60_000),
      })
      const text = await response.text()
      if (response.status >= 300) throw new Error(`remote write to ${url} answered ${response.status}: ${text.slice(0, 300)}`)
    }
    sent += batch.reduce((n, s) => n + s.samples.length, 0)
  }
  return sent
}

export function fleetSampleCount(fleet: readonly FleetSeries[]): number {
  return fleet.reduce((n, s) => n + s.samples.length, 0)
}

/** The fleet as SeriesLoader takes it (query/series-loader.ts), stale markers flagged. */
export function fleetAsLoadSeries(fleet: readonly FleetSeries[]): LoadSeries[] {
  return fleet.map((s) => ({
    labels: Object.fromEntries(s.labels.map((l) => [l.name, l.value])),
    timestamps: s.samples.map((x) => x.timestampMs),
    values: s.samples.map((x) => x.value),
    stale: s.samples.map((x) => (x.nanBits === STALE_NAN_BITS ? 1 : 0)),
  }))
}
