/** The typed configuration every part receives. Built only by config/load.ts. */
export interface AuthConfig {
  bearerToken?: string
  basicUsername?: string
  basicPassword?: string
}

export interface ValidationLimits {
  maxLabelsPerSeries: number
  maxLabelNameLength: number
  maxLabelValueLength: number
  maxSeriesPerRequest: number
  /** Samples with a timestamp later than now + this are rejected. */
  creationGracePeriodMs: number
}

/** The scale-out write path's Kafka settings (adapter and ingester roles). */
export interface KafkaConfig {
  brokers: string[]
  clientId?: string
  topic: string
  provisionTopic: boolean
  partitions: number
  replicationFactor: number
  retentionMs: number
  produceTimeoutMs: number
  consumerGroup: string
  maxBatchBytes: number
  batchWaitMs: number
  partitionsConsumedConcurrently: number
  sessionTimeoutMs: number
  ssl?: { caFile?: string; certFile?: string; keyFile?: string }
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
}

export interface Config {
  listen: { host: string; port: number }
  dataDir: string
  logLevel: 'debug' | 'info' | 'warn' | 'error'
  auth: AuthConfig
  tls?: { certFile: string; keyFile: string }
  limits: ValidationLimits & {
    maxRequestBodyBytes: number
    maxDecompressedBytes: number
    maxConcurrentWrites: number
    bodyReadTimeoutMs: number
    maxSamplesPerRequest: number
    maxSamplesPerSeries: number
    maxInFlightBytes: number
    /** 0: derived from the descriptor limit (http/connection-guard.ts). */
    maxConnections: number
    firstRequestTimeoutMs: number
  }
  wal: { dir: string; segmentBytes: number; maxBytes: number; fsync: boolean }
  flush: { maxBatchBytes: number; intervalMs: number }
  clickhouse: {
    url?: string
    database: string
    username?: string
    password?: string
    /** Cluster name: Replicated + Distributed tables, DDL ON CLUSTER (rollup/README.md). */
    cluster?: string
    storagePolicy?: string
    coldVolume?: string
  }
  /** Per tier, how long data is kept; coldAfterMs: when parts move to clickhouse.coldVolume. */
  retention: { rawMs: number; oneMinuteMs: number; oneHourMs: number; coldAfterMs: number }
  sql: { enabled: boolean; maxExecutionTimeMs: number; maxResultRows: number }
  query: {
    timeoutMs: number
    lookbackDeltaMs: number
    maxSeries: number
    maxSamples: number
    /** ClickHouse memory per statement (query/clickhouse-limits.ts). */
    maxMemoryBytes: number
    rollupMinRangeMs: number
    cache: { enabled: boolean; maxBytes: number; ttlMs: number; maxFreshnessMs: number; redisUrl?: string }
  }
  kafka: KafkaConfig
  store: { allowUnauthenticated: boolean }
  ruler: RulerConfig
  aggregation: AggregationConfig
  haTracker: HaTrackerConfig
}

/** Deduplication of HA Prometheus pairs (adapter/ha-tracker.ts, docs/collecting-metrics.md). */
export interface HaTrackerConfig {
  enabled: boolean
  clusterLabel: string
  replicaLabel: string
  failoverTimeoutMs: number
  /** Election state shared by every adapter; absent: in this process only. */
  redisUrl?: string
}

/** Stream aggregation (aggregation/, docs/aggregation.md). */
export interface AggregationConfig {
  rulesFile?: string
  lagMs: number
  keepInput: boolean
  dropInput: boolean
}

/** The ruler (ruler/, docs/rules.md). Lists come comma-separated from YAML, flags and env alike. */
export interface RulerConfig {
  ruleFiles: string[]
  evaluationIntervalMs: number
  alertmanagerUrls: string[]
  resendDelayMs: number
  notificationTimeoutMs: number
  notificationQueueCapacity: number
  externalUrl: string
  externalLabels: Record<string, string>
  outageToleranceMs: number
  shard?: { index: number; count: number }
  alertEventsTopic?: string
}
