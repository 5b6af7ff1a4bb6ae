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
  }
  wal: { dir: string; segmentBytes: number; maxBytes: number; fsync: boolean }
  flush: { maxBatchBytes: number; intervalMs: number }
  clickhouse: { url?: string; database: string; username?: string; password?: string }
  retention: { rawMs: number }
  sql: { enabled: boolean; maxExecutionTimeMs: number; maxResultRows: number }
}
