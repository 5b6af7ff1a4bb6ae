/** Renders docs/configuration.md from the JSON Schema, so the page cannot drift from the code. */
import { configKeys } from './load.js'

export function renderConfigurationDoc(): string {
  const rows = configKeys().map((k) => {
    const def = k.default === undefined ? '' : `\`${String(k.default)}\``
    return `| \`${k.path.join('.')}\` | \`--${k.flag}\` | \`${k.env}\` | ${k.kind} | ${def} | ${k.description.replaceAll('|', '\\|')} |`
  })
  return [
    '# Configuration',
    '',
    '<!-- Generated from config/metrichouse.schema.json by `npm run docs:config`; a test keeps it in sync. -->',
    '',
    'One typed configuration, from (in rising precedence) the defaults below, a YAML file',
    '(`--config FILE` or `METRICHOUSE_CONFIG`), environment variables, and flags. The file is',
    'validated against `config/metrichouse.schema.json` (usable by editors through',
    '`yaml-language-server`); an unknown key or a wrong type stops the program with a message',
    'naming the key.',
    '',
    'Kinds: *duration* is Prometheus-style (`500ms`, `15s`, `10m`, `7d`, `1y`, or `1h30m`);',
    '*size* is bytes, or a number with `KB`/`MB`/`GB` (powers of 1000) or `KiB`/`MiB`/`GiB`',
    '(powers of 1024); a *boolean* flag takes a value (`--wal-fsync=false`).',
    '',
    '| key | flag | environment | kind | default | meaning |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    'Example file:',
    '',
    '```yaml',
    'listen: 127.0.0.1:9201',
    'data_dir: /var/lib/metrichouse',
    'auth:',
    '  bearer_token_file: /etc/metrichouse/token',
    'limits:',
    '  max_labels_per_series: 30',
    'retention:',
    '  raw: 7d',
    '```',
    '',
  ].join('\n')
}
