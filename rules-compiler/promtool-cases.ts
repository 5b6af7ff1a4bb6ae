/**
 * Rule files for the differential test against `promtool check rules` (Debian's Prometheus
 * 2.42): what promtool says about each, and what lint must say. `beyond` cases are files
 * promtool accepts although evaluation would fail every time: lint reports an error there on
 * purpose. `newer` cases use syntax of later Prometheus versions that 2.42 rejects.
 */
export interface PromtoolCase {
  name: string
  yaml: string
  promtool: 'accept' | 'reject'
  lint: 'clean' | 'error'
}

const accept = (name: string, yaml: string): PromtoolCase => ({ name, yaml, promtool: 'accept', lint: 'clean' })
const reject = (name: string, yaml: string): PromtoolCase => ({ name, yaml, promtool: 'reject', lint: 'error' })
const beyond = (name: string, yaml: string): PromtoolCase => ({ name, yaml, promtool: 'accept', lint: 'error' })
const newer = (name: string, yaml: string): PromtoolCase => ({ name, yaml, promtool: 'reject', lint: 'clean' })

const alert = (body: string) => `groups:\n- name: g\n  rules:\n  - alert: A\n${body}`

export const PROMTOOL_CASES: readonly PromtoolCase[] = [
  accept('an empty file', ''),
  accept('no groups', 'groups: []\n'),
  accept('null rules', 'groups:\n- name: g\n  rules:\n'),
  accept(
    'an alert with for, labels and templated annotations',
    alert(`    expr: rate(http_requests_total{code=~"5.."}[5m]) / rate(http_requests_total[5m]) > 0.05
    for: 10m
    labels:
      severity: critical
      team: payments
    annotations:
      summary: 'High error rate on {{ $labels.instance }}'
      description: 'Error ratio is {{ $value | humanizePercentage }} ({{ printf "%.2f" $value }}) for {{ $labels.job }}.'
`),
  ),
  accept('a recording rule with labels', 'groups:\n- name: rec\n  interval: 30s\n  limit: 10\n  rules:\n  - record: job:http_requests:rate5m\n    expr: sum by (job) (rate(http_requests_total[5m]))\n    labels:\n      source: recorded\n'),
  accept('keep_firing_for', alert('    expr: up == 0\n    for: 1m\n    keep_firing_for: 5m\n')),
  accept(
    'rich PromQL: histogram_quantile, offset, @, subquery, bool, on/group_left',
    alert(`    expr: |
      (histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m]))) > 0.5)
      * on (job) group_left ()
      (max_over_time(up[10m:1m] offset 5m) == bool 1)
      unless absent(up{job="x"} @ 1600000000)
`),
  ),
  accept(
    'templates with with/range/if/else, query, first, value, humanize family',
    alert(`    expr: node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.1
    annotations:
      a: '{{ with query "up" }}{{ . | first | value | humanize }}{{ end }}'
      b: '{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}'
      c: '{{ if lt $value 0.05 }}very {{ else if lt $value 0.08 }}quite {{ else }}a bit {{ end }}low'
      d: '{{ humanize1024 1234567.0 }} {{ humanizeDuration 3600.0 }} {{ humanizeTimestamp 0.0 }} {{ $externalLabels.cluster }} {{ $externalURL }}'
      e: '{{- /* a comment */ -}} {{ toUpper "x" }} {{ reReplaceAll "a(b)" "$1" "ab" }} {{ match "^a" "abc" }} {{ title "x y" }}'
`),
  ),
  accept('duplicate rules (promtool only warns)', 'groups:\n- name: a\n  rules:\n  - record: x\n    expr: 1\n  - record: x\n    expr: 2\n'),
  accept('a number as expr', 'groups:\n- name: a\n  rules:\n  - record: one\n    expr: 1\n'),
  accept('a templated severity label', alert(`    expr: up == 0\n    for: 1m\n    labels:\n      severity: '{{ if gt $value 10.0 }}critical{{ else }}warning{{ end }}'\n`)),
  accept('flow style', 'groups: [{name: g, rules: [{alert: A, expr: "up == 0", for: 5m, labels: {severity: warning}}]}]\n'),
  accept('anchors and aliases', 'groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    labels: &l {severity: warning}\n  - alert: B\n    expr: up == 1\n    labels: *l\n'),
  accept('for: 0 and for: 0s', alert('    expr: up == 0\n    for: 0\n  - alert: B\n    expr: up == 0\n    for: 0s\n')),
  accept('folded block scalar expr', alert('    expr: >\n      sum(rate(errors_total[5m]))\n      > 1\n')),
  accept('label names with underscores', alert('    expr: up == 0\n    labels:\n      _private: x\n      team_name: y\n')),
  accept('comments and a disable directive', '# top comment\ngroups:\n- name: g # trailing\n  rules:\n  # metrichouse-lint disable alerts/for\n  - alert: A\n    expr: up == 0\n'),
  accept('a unicode annotation', alert('    expr: up == 0\n    annotations:\n      summary: "Dienst {{ $labels.job }} ist ausgefallen ✗"\n')),
  accept('a duration with several units', 'groups:\n- name: g\n  interval: 1h30m\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 1d2h3m4s\n'),

  reject('broken YAML indentation', 'groups:\n- name: g\n  rules:\n   - alert: A\n  expr: up\n'),
  reject('tab indentation', 'groups:\n\t- name: g\n'),
  reject('an unknown top-level key', 'groupz:\n- name: g\n'),
  reject('an unknown group key', 'groups:\n- name: g\n  intervall: 1m\n  rules: []\n'),
  reject('an unknown rule key', alert('    expr: up == 0\n    annotation:\n      summary: x\n')),
  reject('a group without a name', 'groups:\n- rules:\n  - record: x\n    expr: 1\n'),
  reject('duplicate group names', 'groups:\n- name: g\n  rules: []\n- name: g\n  rules: []\n'),
  reject('both record and alert', 'groups:\n- name: g\n  rules:\n  - record: x\n    alert: y\n    expr: 1\n'),
  reject('neither record nor alert', 'groups:\n- name: g\n  rules:\n  - expr: 1\n'),
  reject('a rule without expr', 'groups:\n- name: g\n  rules:\n  - record: x\n'),
  reject('an empty expr', 'groups:\n- name: g\n  rules:\n  - record: x\n    expr: ""\n'),
  reject('a PromQL syntax error', alert('    expr: sum(rate(x_total[5m])\n')),
  reject('a PromQL type error', alert('    expr: rate(x_total) > 1\n')),
  reject('group_left on a set operator', alert('    expr: up and on (job) group_left () up\n')),
  reject('an unknown PromQL function', alert('    expr: rat(x_total[5m]) > 1\n')),
  reject('an invalid recording rule name', 'groups:\n- name: g\n  rules:\n  - record: foo-bar\n    expr: 1\n'),
  reject('annotations on a recording rule', 'groups:\n- name: g\n  rules:\n  - record: x\n    expr: 1\n    annotations:\n      a: b\n'),
  reject('for on a recording rule', 'groups:\n- name: g\n  rules:\n  - record: x\n    expr: 1\n    for: 5m\n'),
  reject('a duration in words', alert('    expr: up == 0\n    for: 5 minutes\n')),
  reject('a fractional duration', alert('    expr: up == 0\n    for: 1.5m\n')),
  reject('a bare number as duration', alert('    expr: up == 0\n    for: 300\n')),
  reject('a bad group interval', 'groups:\n- name: g\n  interval: 1x\n  rules: []\n'),
  reject('units out of order', alert('    expr: up == 0\n    for: 5m1h\n')),
  reject('an invalid label name', alert('    expr: up == 0\n    labels:\n      foo-bar: x\n')),
  reject('a label name starting with a digit', alert('    expr: up == 0\n    labels:\n      1abc: x\n')),
  reject('a __name__ label', alert('    expr: up == 0\n    labels:\n      __name__: x\n')),
  reject('an invalid annotation name', alert('    expr: up == 0\n    annotations:\n      "foo bar": x\n')),
  reject('an unclosed template action', alert('    expr: up == 0\n    annotations:\n      summary: "{{ $labels.job"\n')),
  reject('an undefined template function', alert('    expr: up == 0\n    annotations:\n      summary: "{{ humanise $value }}"\n')),
  reject('an undefined template variable', alert('    expr: up == 0\n    labels:\n      team: "{{ $team }}"\n')),
  reject('an unmatched end in a template', alert('    expr: up == 0\n    annotations:\n      summary: "{{ end }}"\n')),
  reject('groups as a mapping', 'groups:\n  name: g\n'),
  reject('a rule that is a string', 'groups:\n- name: g\n  rules:\n  - "up == 0"\n'),
  reject('a duplicate key', alert('    expr: up == 0\n    expr: up == 1\n')),
  reject('a label value that is a list', alert('    expr: up == 0\n    labels:\n      team: [a, b]\n')),
  reject('a non-integer limit', 'groups:\n- name: g\n  limit: many\n  rules: []\n'),

  beyond('a range vector as expr', 'groups:\n- name: g\n  rules:\n  - record: r\n    expr: up[5m]\n'),
  beyond('a string literal as expr', 'groups:\n- name: g\n  rules:\n  - record: r\n    expr: \'"hello"\'\n'),
  beyond('a template comparing float64 with int', alert('    expr: up == 0\n    annotations:\n      summary: "{{ if gt $value 1 }}many{{ end }}"\n')),
  beyond('a template reading a field that does not exist', alert('    expr: up == 0\n    annotations:\n      summary: "{{ .Lables.job }}"\n')),
  beyond('a template calling humanize on a word', alert('    expr: up == 0\n    annotations:\n      summary: \'{{ humanize "lots" }}\'\n')),

  newer('query_offset (Prometheus 2.53+)', 'groups:\n- name: g\n  query_offset: 1m\n  rules:\n  - record: x\n    expr: 1\n'),
]
