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
  }
  wal: { dir?: string; segment_bytes: number | string; max_bytes: number | string; fsync: boolean }
  flush: { max_batch_bytes: number | string; interval: string }
  clickhouse: { url?: string; database: string; username?: string; password?: string }
  retention: { raw: string }
  sql: { enabled: boolean; max_execution_time: string; max_result_rows: number }
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

function toTyped(r: RawConfig): Config {
  const dataDir = path.resolve(r.data_dir)
  const auth: Config['auth'] = {}
  auth.bearerToken = r.auth.bearer_token ?? (r.auth.bearer_token_file ? readSecretFile(r.auth.bearer_token_file, 'auth.bearer_token_file') : undefined)
  if (r.auth.basic_username) {
    auth.basicUsername = r.auth.basic_username
    auth.basicPassword = r.auth.basic_password ?? (r.auth.basic_password_file ? readSecretFile(r.auth.basic_password_file, 'auth.basic_password_file') : '')
  } else if (r.auth.basic_password || r.auth.basic_password_file) {
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
    },
    retention: { rawMs: durations(r.retention.raw, 'retention.raw') },
    sql: {
      enabled: r.sql.enabled,
      maxExecutionTimeMs: durations(r.sql.max_execution_time, 'sql.max_execution_time'),
      maxResultRows: r.sql.max_result_rows,
    },
  }
}
