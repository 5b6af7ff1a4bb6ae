#!/usr/bin/env node
/**
 * `metrichouse <command>`: parses flags and configuration once, then starts a role.
 */
import './threadpool.js'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ConfigError, configKeys, loadConfig } from '../config/load.js'
import { createJsonLogger } from '../observability/logger.js'
import type { RoleStarter } from './role.js'
import { StartupError } from './startup-error.js'
import { VERSION } from './version.js'
import { storeOptions } from './store-options.js'



// Roles read the shared configuration (flags, env, YAML). Loaded on demand: the embedded
// engine takes a second to load, --help should not wait.
const ROLES: Record<string, { description: string; load: () => Promise<RoleStarter> }> = {
  serve: {
    description: 'Run everything in one process: remote-write receiver, WAL, embedded ClickHouse, SQL endpoint',
    load: async () => (await import('./serve.js')).serve,
  },
  adapter: {
    description: 'Scale-out: remote-write receiver producing to Kafka (--kafka-brokers); 2xx after acks=all',
    load: async () => (await import('./adapter.js')).adapter,
  },
  ingester: {
    description: 'Scale-out: Kafka consumer group inserting into ClickHouse exactly once (--kafka-brokers, --clickhouse-url)',
    load: async () => (await import('./ingester.js')).ingester,
  },
  store: {
    description: 'Own the embedded ClickHouse and serve its HTTP interface read-write at /clickhouse/ to authenticated clients',
    load: async () => (await import('./store.js')).store,
  },
  query: {
    description: 'Scale-out: the Prometheus query API (PromQL, Grafana) over a ClickHouse server (--clickhouse-url)',
    load: async () => (await import('./query.js')).query,
  },
  ruler: {
    description: 'Scale-out: evaluate rule files on a ClickHouse server, alerts to Alertmanager, results to Kafka (--ruler-rule-files)',
    load: async () => (await import('./ruler.js')).ruler,
  },
}

// Tools parse their own arguments (files, --format ...) and return an exit status.
type ToolRunner = (argv: string[]) => Promise<number>
const TOOLS: Record<string, { description: string; load: () => Promise<ToolRunner> }> = {
  rules: {
    description: 'Rule files for CI: `rules lint|test|compile FILES...` (metrichouse rules --help)',
    load: async () => (await import('./rules.js')).rules,
  },
  'promql-test': {
    description: 'Run PromQL test files (promqltest format) through an embedded ClickHouse: `promql-test FILES...`',
    load: async () => (await import('./promql-test.js')).promqlTest,
  },
}

const COMMANDS: Record<string, string> = {
  ...Object.fromEntries(Object.entries(ROLES).map(([name, r]) => [name, r.description])),
  migrate: 'Create or upgrade the ClickHouse schema (idempotent); --print shows the DDL instead',
  ...Object.fromEntries(Object.entries(TOOLS).map(([name, t]) => [name, t.description])),
}

function usage(): string {
  const keys = configKeys()
  const width = Math.max(...keys.map((k) => k.flag.length)) + 12
  return [
    `metrichouse ${VERSION}: Prometheus remote write into ClickHouse`,
    '',
    'Usage: metrichouse <command> [flags]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([c, d]) => `  ${c.padEnd(10)} ${d}`),
    '',
    'Flags (each also METRICHOUSE_<NAME> in the environment, or a key of the YAML config):',
    `  --${'config FILE'.padEnd(width)} YAML configuration file (schema: config/metrichouse.schema.json)`,
    ...keys.map((k) => {
      const value = k.kind === 'boolean' ? '=true|false' : ` ${k.kind.toUpperCase()}`
      const def = k.default === undefined ? '' : ` (default ${String(k.default)})`
      return `  --${(k.flag + value).padEnd(width)} ${k.description}${def}`
    }),
    `  --${'print'.padEnd(width)} migrate: print the DDL and exit`,
    `  --${'help'.padEnd(width)} this text`,
    `  --${'version'.padEnd(width)} print the version`,
    '',
    'Defaults: --listen :9201 --data-dir ./data. Documentation: README.md and docs/.',
  ].join('\n')
}

function parseCommandLine(argv: string[]) {
  const options: NonNullable<ParseArgsConfig['options']> = {
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
    print: { type: 'boolean' },
  }
  // Every value flag takes a value, booleans too (--wal-fsync=false): node 20's parseArgs has no --no- form.
  for (const k of configKeys()) options[k.flag] = { type: 'string' }
  return parseArgs({ args: argv, options, allowPositionals: true, strict: true })
}

async function main(argv: string[]): Promise<number> {
  const tool = argv[0] === undefined ? undefined : TOOLS[argv[0]]
  if (tool) return (await tool.load())(argv.slice(1))
  let parsed: ReturnType<typeof parseCommandLine>
  try {
    parsed = parseCommandLine(argv)
  } catch (err) {
    process.stderr.write(`metrichouse: ${(err as Error).message}\nRun 'metrichouse --help' for usage.\n`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.version) {
    process.stdout.write(`metrichouse ${VERSION}\n`)
    return 0
  }
  const command = positionals[0]
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(usage() + '\n')
    return command === undefined && !values.help ? 2 : 0
  }
  if (!(command in COMMANDS)) {
    process.stderr.write(`metrichouse: unknown command "${command}"\nRun 'metrichouse --help' for usage.\n`)
    return 2
  }
  let config
  try {
    config = loadConfig({
      configFile: values.config as string | undefined,
      flags: values as Record<string, string | boolean | undefined>,
      env: process.env,
    })
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`metrichouse: ${err.message}\n`)
      return 2
    }
    throw err
  }
  const logger = createJsonLogger(config.logLevel)

  if (command === 'migrate') {
    // Loaded on demand: the schema modules load the embedded engine, which takes a second;
    // `rules lint|test` and --help should not wait for it.
    const { publicSchema, schemaOptionsFromConfig } = await import('../rollup/public-schema.js')
    if (values.print) {
      process.stdout.write(publicSchema(schemaOptionsFromConfig(config)).statements.join(';\n\n') + ';\n')
      return 0
    }
    const { openStore } = await import('../store/connection.js')
    const { migrate } = await import('../store/schema.js')
    const store = await openStore(storeOptions(config))
    try {
      await migrate(store.readWrite, publicSchema(schemaOptionsFromConfig(config)))
      logger.info('schema is up to date', { clickhouse: store.embedded ? 'embedded' : config.clickhouse.url })
    } finally {
      await store.close()
    }
    if (config.kafka.brokers.length > 0 && config.kafka.provisionTopic) {
      const { provisionKafkaTopic } = await import('./provision.js')
      await provisionKafkaTopic(config, logger)
    }
    return 0
  }

  const role = ROLES[command]
  if (!role) {
    process.stderr.write(`metrichouse: "${command}" is not a role\n`)
    return 2
  }
  const running = await (await role.load())(config, logger)
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info('shutting down', { signal })
      running.shutdown().then(resolve, (err) => {
        logger.error('shutdown failed', { err })
        resolve()
      })
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  })
  return 0
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    // What the operator can fix is one sentence; anything else keeps its stack for a bug report.
    const known = err instanceof StartupError || err instanceof ConfigError
    process.stderr.write(`metrichouse: ${known ? err.message : ((err as Error)?.stack ?? String(err))}\n`)
    if (err instanceof ConfigError) process.exit(2)
    process.exit(1)
  },
)
