import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, configKeys, loadConfig, parseListen } from './load.js'
import { parseDurationMs, parseSizeBytes } from './units.js'

function configFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mh-config-'))
  const file = path.join(dir, 'metrichouse.yml')
  writeFileSync(file, text)
  return file
}

describe('loadConfig', () => {
  it('gives the documented defaults with nothing set', () => {
    const c = loadConfig()
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 9201 })
    expect(c.dataDir).toBe(path.resolve('./data'))
    expect(c.wal.dir).toBe(path.resolve('./data/wal'))
    expect(c.retention.rawMs).toBe(7 * 86_400_000)
    expect(c.limits.maxRequestBodyBytes).toBe(16 * 1024 * 1024)
    expect(c.wal.fsync).toBe(true)
    expect(c.auth).toEqual({ bearerToken: undefined })
  })

  it('lets the environment override the file and flags override both', () => {
    const file = configFile('data_dir: /from/file\nlimits:\n  max_labels_per_series: 10\nwal:\n  max_bytes: 1GiB\n')
    const c = loadConfig({
      configFile: file,
      env: { METRICHOUSE_DATA_DIR: '/from/env', METRICHOUSE_LIMITS_MAX_LABELS_PER_SERIES: '20' },
      flags: { 'data-dir': '/from/flag' },
    })
    expect(c.dataDir).toBe('/from/flag')
    expect(c.limits.maxLabelsPerSeries).toBe(20)
    expect(c.wal.maxBytes).toBe(1024 ** 3)
  })

  it('reads the config file named by METRICHOUSE_CONFIG', () => {
    const file = configFile('listen: 127.0.0.1:9999\n')
    expect(loadConfig({ env: { METRICHOUSE_CONFIG: file } }).listen).toEqual({ host: '127.0.0.1', port: 9999 })
  })

  /** A secret file for the cases below: `${SECRET}` in their YAML names it. */
  const secretDir = mkdtempSync(path.join(tmpdir(), 'mh-secret-'))
  const secretFile = (name: string, content: string) => {
    const file = path.join(secretDir, name)
    writeFileSync(file, content)
    return file
  }
  const emptyToken = secretFile('empty-token', '')
  const blankToken = secretFile('blank-token', ' \u00a0\n\t\n')
  const bad: { name: string; file?: string; flags?: Record<string, string>; message: RegExp }[] = [
    { name: 'an unknown top-level key', file: 'listne: :9201\n', message: /unknown key "listne"/ },
    { name: 'an unknown nested key', file: 'wal:\n  max_byte: 1\n', message: /unknown key "wal.max_byte"/ },
    { name: 'a wrong type', file: 'limits:\n  max_labels_per_series: many\n', message: /limits.max_labels_per_series: must be integer/ },
    { name: 'a bad enum value', flags: { 'log-level': 'loud' }, message: /log_level: must be one of debug, info, warn, error/ },
    { name: 'a bad duration', file: 'retention:\n  raw: 7 days\n', message: /retention.raw/ },
    { name: 'a bad size from a flag', flags: { 'wal-max-bytes': 'lots' }, message: /wal.max_bytes/ },
    { name: 'a non-integer flag', flags: { 'limits-max-labels-per-series': '1.5' }, message: /flag --limits-max-labels-per-series: expected an integer/ },
    { name: 'broken YAML', file: 'listen: [\n', message: /invalid YAML/ },
    { name: 'a list at the top level', file: '- a\n', message: /top level must be a mapping/ },
    { name: 'a password without a user', file: 'auth:\n  basic_password: x\n', message: /basic_username is not/ },
    { name: 'an empty bearer token file', file: `auth:\n  bearer_token_file: ${emptyToken}\n`, message: /auth\.bearer_token_file: .*empty-token is empty: an empty credential would let anyone in/ },
    { name: 'a bearer token file of white space only', file: `auth:\n  bearer_token_file: ${blankToken}\n`, message: /auth\.bearer_token_file: .* is empty/ },
    { name: 'an empty bearer token', file: "auth:\n  bearer_token: ''\n", message: /auth\.bearer_token: must NOT have fewer than 1 characters/ },
    { name: 'a bearer token of a no-break space', flags: { 'auth-bearer-token': '\u00a0' }, message: /auth\.bearer_token is empty/ },
    { name: 'a user without a password', file: 'auth:\n  basic_username: u\n', message: /auth\.basic_username is set but auth\.basic_password .* is not/ },
    { name: 'a user with an empty password', file: "auth:\n  basic_username: u\n  basic_password: ''\n", message: /auth\.basic_password is empty/ },
    { name: 'an empty user name', file: "auth:\n  basic_username: '  '\n  basic_password: p\n", message: /auth\.basic_username is empty/ },
    { name: 'an empty password file', file: `auth:\n  basic_username: u\n  basic_password_file: ${emptyToken}\n`, message: /auth\.basic_password_file: .* is empty/ },
    { name: 'a bad listen address', flags: { listen: 'localhost' }, message: /listen: expected HOST:PORT/ },
  ]
  for (const c of bad) {
    it(`refuses ${c.name} with a message naming the key`, () => {
      const configFilePath = c.file === undefined ? undefined : configFile(c.file)
      expect(() => loadConfig({ configFile: configFilePath, flags: c.flags })).toThrow(ConfigError)
      expect(() => loadConfig({ configFile: configFilePath, flags: c.flags })).toThrow(c.message)
    })
  }

  it('derives one flag and one variable per scalar key', () => {
    const keys = configKeys()
    const walMax = keys.find((k) => k.path.join('.') === 'wal.max_bytes')
    expect(walMax).toMatchObject({ flag: 'wal-max-bytes', env: 'METRICHOUSE_WAL_MAX_BYTES', kind: 'size' })
    expect(new Set(keys.map((k) => k.flag)).size).toBe(keys.length)
  })
})

describe('units', () => {
  const durations: [string, number][] = [
    ['500ms', 500],
    ['15s', 15_000],
    ['1h30m', 5_400_000],
    ['7d', 604_800_000],
    ['1y', 365 * 86_400_000],
  ]
  for (const [text, ms] of durations) it(`parses duration ${text}`, () => expect(parseDurationMs(text)).toBe(ms))
  for (const text of ['', '5', 'd', '1h 30m', '-1s']) it(`refuses duration "${text}"`, () => expect(() => parseDurationMs(text)).toThrow())

  const sizes: [number | string, number][] = [
    [1024, 1024],
    ['64KiB', 65536],
    ['2GiB', 2 * 1024 ** 3],
    ['1GB', 1e9],
    ['7', 7],
  ]
  for (const [v, n] of sizes) it(`parses size ${v}`, () => expect(parseSizeBytes(v)).toBe(n))

  const listens: [string, { host: string; port: number }][] = [
    [':9201', { host: '0.0.0.0', port: 9201 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['[::1]:9201', { host: '::1', port: 9201 }],
  ]
  for (const [text, want] of listens) it(`parses listen ${text}`, () => expect(parseListen(text)).toEqual(want))
})
