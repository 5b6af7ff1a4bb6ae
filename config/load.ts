/**
 * Builds the one typed Config from, in rising precedence: schema defaults, the YAML file,
 * METRICHOUSE_* environment variables, command-line flags. The JSON Schema
 * (metrichouse.schema.json) is the single list of keys: flag and variable names are derived
 * from it, so `wal.max_bytes` is `--wal-max-bytes` and `METRICHOUSE_WAL_MAX_BYTES`.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Ajv, type ErrorObject } from 'ajv'
import { load as parseYaml } from 'js-yaml'
import type { Config } from './config.js'
import { parseDurationMs, parseSizeBytes } from './units.js'

import schemaJson from './metrichouse.schema.json' with { type: 'json' }

export const configSchema = schemaJson as JsonSchema

export class ConfigError extends Error {
  override name = 'ConfigError'
}

interface JsonSchema {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  $ref?: string
  oneOf?: JsonSchema[]
  definitions?: Record<string, JsonSchema>
  description?: string
  default?: unknown
}

export type LeafKind = 'string' | 'integer' | 'boolean' | 'size' | 'duration'
export interface ConfigKey {
  path: string[]
  flag: string
  env: string
  kind: LeafKind
  description: string
  default?: unknown
}

/** Every scalar key of the schema, with the flag and variable that set it. */
export function configKeys(schema: JsonSchema = configSchema): ConfigKey[] {
  const keys: ConfigKey[] = []
  const walk = (node: JsonSchema, at: string[]) => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const p = [...at, name]
      if (child.properties) {
        walk(child, p)
        continue
      }
      const kind: LeafKind =
        child.$ref === '#/definitions/size'
          ? 'size'
          : child.$ref === '#/definitions/duration'
            ? 'duration'
            : child.type === 'integer'
              ? 'integer'
              : child.type === 'boolean'
                ? 'boolean'
                : 'string'
      const flat = p.join('_')
      keys.push({
        path: p,
        flag: flat.replaceAll('_', '-'),
        env: `METRICHOUSE_${flat.toUpperCase()}`,
        kind,
        description: child.description ?? '',
        default: child.default,
      })
    }
  }
  walk(schema, [])
  return keys
}

function coerce(raw: string, key: ConfigKey, origin: string): unknown {
  switch (key.kind) {
    case 'boolean':
      if (raw === 'true' || raw === '') return true
      if (raw === 'false') return false
      throw new ConfigError(`${origin}: expected true or false, got "${raw.slice(0, 40)}"`)
    case 'integer': {
      if (!/^-?[0-9]+$/.test(raw)) throw new ConfigError(`${origin}: expected an integer, got "${raw.slice(0, 40)}"`)
      return Number(raw)
    }
    case 'size':
      return /^[0-9]+$/.test(raw) ? Number(raw) : raw
    default:
      return raw
  }
}

function setPath(target: Record<string, unknown>, p: string[], value: unknown) {
  let node = target
  for (const part of p.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {}
    node = node[part] as Record<string, unknown>
  }
  node[p[p.length - 1]] = value
}

function describeAjvError(e: ErrorObject, origin: string): string {
  const where = e.instancePath.split('/').filter(Boolean).join('.') || '(top level)'
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty
    return `${origin}: unknown key "${where === '(top level)' ? extra : `${where}.${extra}`}"`
  }
  if (e.keyword === 'enum') return `${origin}: ${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
  return `${origin}: ${where}: ${e.message ?? 'invalid'}`
}

export interface LoadOptions {
  configFile?: string
  /** Flag values already parsed, keyed by flag name without dashes (`data-dir`). */
  flags?: Record<string, string | boolean | undefined>
  env?: NodeJS.ProcessEnv
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? {}
  const configFile = opts.configFile ?? env.METRICHOUSE_CONFIG
  let raw: Record<string, unknown> = {}
  if (configFile) {
    let text: string
    try {
      text = readFileSync(configFile, 'utf8')
    } catch (err) {
      throw new ConfigError(`cannot read config file ${configFile}: ${(err as Error).message}`)
    }
    let doc: unknown
    try {
      doc = parseYaml(text)
    } catch (err) {
      throw new ConfigError(`${configFile}: invalid YAML: ${(err as Error).message.split('\n')[0]}`)
    }
    if (doc !== undefined && doc !== null) {
      if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${configFile}: the top level must be a mapping`)
      raw = doc as Record<string, unknown>
    }
  }
  for (const key of configKeys()) {
    const fromEnv = env[key.env]
    if (fromEnv !== undefined) setPath(raw, key.path, coerce(fromEnv, key, `environment ${key.env}`))
    const fromFlag = opts.flags?.[key.flag]
    if (fromFlag !== undefined) setPath(raw, key.path, coerce(String(fromFlag), key, `flag --${key.flag}`))
  }
  const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false })
  const validate = ajv.compile(configSchema)
  if (!validate(raw)) {
    const origin = configFile ?? 'configuration'
    throw new ConfigError((validate.errors ?? []).filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'if').slice(0, 5).map((e) => describeAjvError(e, origin)).join('\n'))
  }
  return toTyped(raw as unknown as RawConfig)
}

interface RawConfig {
  listen: string
  data_dir: string
  log_level: Config['logLevel']
  auth: { bearer_token?: string; bearer_token_file?: string; basic_username?: string; basic_password?: string; basic_password_file?: string }
  tls: { cert_file?: string; key_file?: string }
  limits: {
    max_request_body_bytes: number | string
    max_decompressed_bytes: number | string
    max_labels_per_series: number
    max_label_name_length: number
    max_label_value_length: number
    max_series_per_request: number
    creation_grace_period: string
    max_concurrent_writes: number
    body_read_timeout: string
    max_samples_per_request: number
    max_samples_per_series: number
    max_in_flight_bytes: number | string
    max_connections: number
    first_request_timeout: string
  }
  wal: { dir?: string; segment_bytes: number | string; max_bytes: number | string; fsync: boolean }
  flush: { max_batch_bytes: number | string; interval: string }
  clickhouse: { url?: string; database: string; username?: string; password?: string; cluster?: string; storage_policy?: string; cold_volume?: string }
  retention: { raw: string; one_minute: string; one_hour: string; cold_after: string }
  sql: { enabled: boolean; max_execution_time: string; max_result_rows: number }
  query: {
    timeout: string
    lookback_delta: string
    max_series: number
    max_samples: number
    max_memory: number | string
    rollup_min_range: string
    cache: { enabled: boolean; max_bytes: number | string; ttl: string; max_freshness: string; redis_url?: string }
  }
  kafka: {
    brokers?: string
    client_id?: string
    topic: string
    provision_topic: boolean
    partitions: number
    replication_factor: number
    retention: string
    produce_timeout: string
    consumer_group: string
    max_batch_bytes: number | string
    batch_wait: string
    partitions_consumed_concurrently: number
    session_timeout: string
    ssl: boolean
    ssl_ca_file?: string
    ssl_cert_file?: string
    ssl_key_file?: string
    sasl_mechanism: '' | 'plain' | 'scram-sha-256' | 'scram-sha-512'
    sasl_username?: string
    sasl_password?: string
    sasl_password_file?: string
  }
  store: { allow_unauthenticated: boolean }
  aggregation: { rules_file: string; lag: string; keep_input: boolean; drop_input: boolean }
  ha_tracker: { enabled: boolean; cluster_label: string; replica_label: string; failover_timeout: string; redis_url: string }
  ruler: {
    rule_files: string
    evaluation_interval: string
    alertmanager_urls: string
    resend_delay: string
    notification_timeout: string
    notification_queue_capacity: number
    external_url: string
    external_labels: string
    outage_tolerance: string
    shard: string
    alert_events_topic: string
  }
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(.*):([0-9]{1,5})$/.exec(text)
  if (!m || Number(m[2]) > 65535) throw new ConfigError(`listen: expected HOST:PORT or :PORT, got "${text.slice(0, 60)}"`)
  const host = m[1].replace(/^\[(.*)\]$/, '$1')
  return { host: host === '' ? '0.0.0.0' : host, port: Number(m[2]) }
}

function readSecretFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8').trim()
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${file}: ${(err as Error).message}`)
  }
}

/**
 * A credential from its key or its `_file` key. An empty or whitespace-only one refuses to
 * start: the HTTP edge would otherwise compare requests against an empty secret, and a
 * header such as `Bearer <no-break space>` trims to exactly that.
 */
function credential(value: string | undefined, file: string | undefined, key: string): string | undefined {
  const fromFile = value === undefined && file !== undefined
  const text = value ?? (fromFile ? readSecretFile(file, `${key}_file`) : undefined)
  if (text !== undefined && text.trim() === '') {
    throw new ConfigError(`${fromFile ? `${key}_file: ${file} is empty` : `${key} is empty`}: an empty credential would let anyone in; set one, or remove the key to run without authentication`)
  }
  return text
}

function toTyped(r: RawConfig): Config {
  const dataDir = path.resolve(r.data_dir)
  const auth: Config['auth'] = {}
  auth.bearerToken = credential(r.auth.bearer_token, r.auth.bearer_token_file, 'auth.bearer_token')
  const basicPassword = credential(r.auth.basic_password, r.auth.basic_password_file, 'auth.basic_password')
  const basicUsername = credential(r.auth.basic_username, undefined, 'auth.basic_username')
  if (basicUsername !== undefined) {
    if (basicPassword === undefined) throw new ConfigError('auth.basic_username is set but auth.basic_password (or auth.basic_password_file) is not: a user without a password lets in anyone who knows the name')
    auth.basicUsername = basicUsername
    auth.basicPassword = basicPassword
  } else if (basicPassword !== undefined) {
    throw new ConfigError('auth.basic_password is set but auth.basic_username is not')
  }
  if (Boolean(r.tls.cert_file) !== Boolean(r.tls.key_file)) throw new ConfigError('tls: cert_file and key_file go together')
  const durations = (text: string, key: string) => {
    try {
      return parseDurationMs(text)
    } catch (err) {
      throw new ConfigError(`${key}: ${(err as Error).message}`)
    }
  }
  return {
    listen: parseListen(r.listen),
    dataDir,
    logLevel: r.log_level,
    auth,
    tls: r.tls.cert_file && r.tls.key_file ? { certFile: r.tls.cert_file, keyFile: r.tls.key_file } : undefined,
    limits: {
      maxRequestBodyBytes: parseSizeBytes(r.limits.max_request_body_bytes),
      maxDecompressedBytes: parseSizeBytes(r.limits.max_decompressed_bytes),
      maxLabelsPerSeries: r.limits.max_labels_per_series,
      maxLabelNameLength: r.limits.max_label_name_length,
      maxLabelValueLength: r.limits.max_label_value_length,
      maxSeriesPerRequest: r.limits.max_series_per_request,
      creationGracePeriodMs: durations(r.limits.creation_grace_period, 'limits.creation_grace_period'),
      maxConcurrentWrites: r.limits.max_concurrent_writes,
      bodyReadTimeoutMs: durations(r.limits.body_read_timeout, 'limits.body_read_timeout'),
      maxSamplesPerRequest: r.limits.max_samples_per_request,
      maxSamplesPerSeries: r.limits.max_samples_per_series,
      maxInFlightBytes: parseSizeBytes(r.limits.max_in_flight_bytes),
      maxConnections: r.limits.max_connections,
      firstRequestTimeoutMs: durations(r.limits.first_request_timeout, 'limits.first_request_timeout'),
    },
    wal: {
      dir: path.resolve(dataDir, r.wal.dir ?? 'wal'),
      segmentBytes: parseSizeBytes(r.wal.segment_bytes),
      maxBytes: parseSizeBytes(r.wal.max_bytes),
      fsync: r.wal.fsync,
    },
    flush: {
      maxBatchBytes: parseSizeBytes(r.flush.max_batch_bytes),
      intervalMs: durations(r.flush.interval, 'flush.interval'),
    },
    clickhouse: {
      url: r.clickhouse.url || undefined,
      database: r.clickhouse.database,
      username: r.clickhouse.username,
      password: r.clickhouse.password,
      cluster: r.clickhouse.cluster || undefined,
      storagePolicy: r.clickhouse.storage_policy || undefined,
      coldVolume: r.clickhouse.cold_volume || undefined,
    },
    retention: {
      rawMs: durations(r.retention.raw, 'retention.raw'),
      oneMinuteMs: durations(r.retention.one_minute, 'retention.one_minute'),
      oneHourMs: durations(r.retention.one_hour, 'retention.one_hour'),
      coldAfterMs: durations(r.retention.cold_after, 'retention.cold_after'),
    },
    sql: {
      enabled: r.sql.enabled,
      maxExecutionTimeMs: durations(r.sql.max_execution_time, 'sql.max_execution_time'),
      maxResultRows: r.sql.max_result_rows,
    },
    query: {
      timeoutMs: durations(r.query.timeout, 'query.timeout'),
      lookbackDeltaMs: durations(r.query.lookback_delta, 'query.lookback_delta'),
      maxSeries: r.query.max_series,
      maxSamples: r.query.max_samples,
      maxMemoryBytes: parseSizeBytes(r.query.max_memory),
      rollupMinRangeMs: durations(r.query.rollup_min_range, 'query.rollup_min_range'),
      cache: {
        enabled: r.query.cache.enabled,
        maxBytes: parseSizeBytes(r.query.cache.max_bytes),
        ttlMs: durations(r.query.cache.ttl, 'query.cache.ttl'),
        maxFreshnessMs: durations(r.query.cache.max_freshness, 'query.cache.max_freshness'),
        redisUrl: r.query.cache.redis_url || undefined,
      },
    },
    kafka: toKafkaConfig(r.kafka, durations),
    store: { allowUnauthenticated: r.store.allow_unauthenticated },
    ruler: toRulerConfig(r.ruler, durations),
    aggregation: {
      rulesFile: r.aggregation.rules_file || undefined,
      lagMs: durations(r.aggregation.lag, 'aggregation.lag'),
      keepInput: r.aggregation.keep_input,
      dropInput: r.aggregation.drop_input,
    },
    haTracker: {
      enabled: r.ha_tracker.enabled,
      clusterLabel: r.ha_tracker.cluster_label,
      replicaLabel: r.ha_tracker.replica_label,
      failoverTimeoutMs: durations(r.ha_tracker.failover_timeout, 'ha_tracker.failover_timeout'),
      redisUrl: r.ha_tracker.redis_url || undefined,
    },
  }
}

const commaList = (s: string) => s.split(',').map((x) => x.trim()).filter((x) => x !== '')

function toRulerConfig(r: RawConfig['ruler'], durations: (v: string, key: string) => number): Config['ruler'] {
  const externalLabels: Record<string, string> = {}
  for (const pair of commaList(r.external_labels)) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)=(.*)$/.exec(pair)
    if (!m) throw new ConfigError(`ruler.external_labels: expected name=value, got "${pair.slice(0, 40)}"`)
    externalLabels[m[1]!] = m[2]!
  }
  let shard: Config['ruler']['shard']
  if (r.shard !== '') {
    const [index, count] = r.shard.split('/').map(Number) as [number, number]
    if (!(count > 0 && index < count)) throw new ConfigError(`ruler.shard: "${r.shard}" needs i < n`)
    shard = { index, count }
  }
  return {
    ruleFiles: commaList(r.rule_files),
    evaluationIntervalMs: durations(r.evaluation_interval, 'ruler.evaluation_interval'),
    alertmanagerUrls: commaList(r.alertmanager_urls),
    resendDelayMs: durations(r.resend_delay, 'ruler.resend_delay'),
    notificationTimeoutMs: durations(r.notification_timeout, 'ruler.notification_timeout'),
    notificationQueueCapacity: r.notification_queue_capacity,
    externalUrl: r.external_url,
    externalLabels,
    outageToleranceMs: durations(r.outage_tolerance, 'ruler.outage_tolerance'),
    shard,
    alertEventsTopic: r.alert_events_topic || undefined,
  }
}

function toKafkaConfig(k: RawConfig['kafka'], durations: (text: string, key: string) => number): Config['kafka'] {
  const brokers = (k.brokers ?? '').split(',').map((b) => b.trim()).filter((b) => b !== '')
  for (const b of brokers) if (!/^[^\s:]+:[0-9]{1,5}$/.test(b)) throw new ConfigError(`kafka.brokers: expected host:port, got "${b.slice(0, 60)}"`)
  let sasl: Config['kafka']['sasl']
  if (k.sasl_mechanism !== '') {
    if (!k.sasl_username) throw new ConfigError('kafka.sasl_mechanism is set but kafka.sasl_username is not')
    const password = k.sasl_password ?? (k.sasl_password_file ? readSecretFile(k.sasl_password_file, 'kafka.sasl_password_file') : '')
    sasl = { mechanism: k.sasl_mechanism, username: k.sasl_username, password }
  }
  if (!k.ssl && (k.ssl_ca_file || k.ssl_cert_file || k.ssl_key_file)) throw new ConfigError('kafka.ssl_ca_file / ssl_cert_file / ssl_key_file need kafka.ssl: true')
  if (Boolean(k.ssl_cert_file) !== Boolean(k.ssl_key_file)) throw new ConfigError('kafka: ssl_cert_file and ssl_key_file go together')
  return {
    brokers,
    clientId: k.client_id,
    topic: k.topic,
    provisionTopic: k.provision_topic,
    partitions: k.partitions,
    replicationFactor: k.replication_factor,
    retentionMs: durations(k.retention, 'kafka.retention'),
    produceTimeoutMs: durations(k.produce_timeout, 'kafka.produce_timeout'),
    consumerGroup: k.consumer_group,
    maxBatchBytes: parseSizeBytes(k.max_batch_bytes),
    batchWaitMs: durations(k.batch_wait, 'kafka.batch_wait'),
    partitionsConsumedConcurrently: k.partitions_consumed_concurrently,
    sessionTimeoutMs: durations(k.session_timeout, 'kafka.session_timeout'),
    ssl: k.ssl ? { caFile: k.ssl_ca_file, certFile: k.ssl_cert_file, keyFile: k.ssl_key_file } : undefined,
    sasl,
  }
}
