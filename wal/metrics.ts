import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/**
 * What the WAL reports about itself, as plain callbacks so the log does not depend on
 * prom-client (tests count fsyncs with them). `createWalMetrics` wires them to a registry.
 */
export interface WalMetrics {
  /** One call per fsync (fdatasync) of a segment file, in seconds. */
  observeFsync(seconds: number): void
  /** Records acknowledged by one write + fsync (the group-commit batch). */
  observeAppends(records: number, bytes: number): void
  /** A record (or a whole segment) that could not be read back, counted once per process. */
  incCorruptRecords(): void
  /** Bytes and segment files currently on disk. */
  setSize(bytes: number, segments: number): void
  /** The log reopened itself after a failed write. */
  incReopens(): void
}

export const noopWalMetrics: WalMetrics = {
  observeFsync() {},
  observeAppends() {},
  incCorruptRecords() {},
  setSize() {},
  incReopens() {},
}

/**
 * Registers the WAL's metrics on the given registry (never the global default one). With
 * `maxBytes`, also the limit, so that "near full" is one ratio (examples/rules/metrichouse.yml).
 */
export function createWalMetrics(registry: Registry, maxBytes?: number): WalMetrics {
  const registers = [registry]
  if (maxBytes !== undefined) {
    new Gauge({ name: 'metrichouse_wal_max_bytes', help: 'wal.max_bytes: above it, writes get 503 until the flusher catches up', registers }).set(maxBytes)
  }
  const fsync = new Histogram({
    name: 'metrichouse_wal_fsync_duration_seconds',
    help: 'Time spent in fdatasync of a WAL segment file.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  })
  const appends = new Counter({
    name: 'metrichouse_wal_appends_total',
    help: 'Records appended to the WAL and acknowledged (fsynced).',
    registers,
  })
  const appendedBytes = new Counter({
    name: 'metrichouse_wal_appended_bytes_total',
    help: 'Payload bytes appended to the WAL and acknowledged (fsynced).',
    registers,
  })
  const corrupt = new Counter({
    name: 'metrichouse_wal_corrupt_records_total',
    help: 'Records or whole segments found unreadable (CRC mismatch, bad framing, a file that cannot be opened) and skipped.',
    registers,
  })
  const reopens = new Counter({
    name: 'metrichouse_wal_reopens_total',
    help: 'Times the WAL reopened itself after a failed write or fsync (appends are refused in between).',
    registers,
  })
  const bytes = new Gauge({
    name: 'metrichouse_wal_bytes',
    help: 'Bytes of WAL segment files on disk.',
    registers,
  })
  const segments = new Gauge({
    name: 'metrichouse_wal_segments',
    help: 'WAL segment files on disk.',
    registers,
  })
  return {
    observeFsync: (s) => fsync.observe(s),
    observeAppends: (n, b) => {
      appends.inc(n)
      appendedBytes.inc(b)
    },
    incCorruptRecords: () => corrupt.inc(),
    incReopens: () => reopens.inc(),
    setSize: (b, s) => {
      bytes.set(b)
      segments.set(s)
    },
  }
}
