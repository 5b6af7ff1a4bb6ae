import { describe, expect, it } from 'vitest'
import { querySample } from './functions.js'
import { AlertTemplate, TemplateExecError, TemplateParseError } from './expand.js'

const data = { labels: { instance: 'db-1:9100', job: 'node' }, externalLabels: { cluster: 'eu-1' }, externalURL: 'http://prom.example:9090/prom', value: 1234567 }

describe('alert templates expand as Prometheus expands them', () => {
  it.each([
    ['plain text', 'no actions here', 'no actions here'],
    ['$labels and $value', '{{ $labels.instance }} is {{ $value }}', 'db-1:9100 is 1.234567e+06'],
    ['.Labels and .Value on dot', '{{ .Labels.job }}/{{ .Value }}', 'node/1.234567e+06'],
    ['a missing label is empty', '[{{ $labels.nope }}]', '[]'],
    ['external labels and URL', '{{ $externalLabels.cluster }} {{ $externalURL }} {{ pathPrefix }}', 'eu-1 http://prom.example:9090/prom /prom'],
    ['humanize', '{{ humanize 1234567.0 }} {{ humanize 0.0012 }} {{ humanize 0.0 }} {{ humanize 999.0 }}', '1.235M 1.2m 0 999'],
    ['humanize1024', '{{ humanize1024 1048576.0 }} {{ humanize1024 512.0 }}', '1Mi 512'],
    ['humanizeDuration', '{{ humanizeDuration 90061.0 }} {{ humanizeDuration 3700.0 }} {{ humanizeDuration 65.0 }} {{ humanizeDuration 1.5 }} {{ humanizeDuration 0.0015 }} {{ humanizeDuration 0.0 }}', '1d 1h 1m 1s 1h 1m 40s 1m 5s 1.5s 1.5ms 0s'],
    ['humanizePercentage', '{{ humanizePercentage 0.1234 }} {{ 0.5 | humanizePercentage }}', '12.34% 50%'],
    ['humanizeTimestamp', '{{ humanizeTimestamp 1435065584.128 }}', '2015-06-23 13:19:44.128 +0000 UTC'],
    ['humanize takes numeric strings', '{{ humanize "2048" }}', '2.048k'],
    ['printf verbs', '{{ printf "%.2f|%s|%d|%q|%5.1f" 3.14159 "x" 42 "y" 2.0 }}', '3.14|x|42|"y"|  2.0'],
    ['pipelines feed the last argument', '{{ "a" | printf "%s-%s" "b" }}', 'b-a'],
    ['if / else if / else with float comparisons', '{{ if gt $value 2e6 }}big{{ else if gt $value 1e6 }}medium{{ else }}small{{ end }}', 'medium'],
    ['trim markers', 'a  {{- " b " -}}  c', 'a b c'],
    ['comments', 'x{{/* ignored }} */}}y', 'xy'],
    ['range over labels, sorted', '{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}', 'instance=db-1:9100;job=node;'],
    ['range with else on an empty query', '{{ range query "up" }}x{{ else }}none{{ end }}', 'none'],
    ['with sets dot', '{{ with $labels.job }}job={{ . }}{{ end }}{{ with $labels.nope }}never{{ end }}', 'job=node'],
    ['variables and assignment', '{{ $x := 1.5 }}{{ $x = 2.5 }}{{ $x }}', '2.5'],
    ['define and template', '{{ define "t" }}[{{ .Labels.job }}]{{ end }}{{ template "t" . }}', '[node]'],
    ['string functions', '{{ toUpper "a" }}{{ toLower "B" }} {{ title "hello world" }} {{ stripPort "host:9100" }} {{ stripDomain "db.example.com:80" }}', 'Ab Hello World host db:80'],
    ['regex functions', '{{ reReplaceAll "^(.*):\\\\d+$" "$1" .Labels.instance }} {{ match "^db" .Labels.instance }}', 'db-1 true'],
    ['eq with several arguments, and/or/not', '{{ eq .Labels.job "x" "node" }} {{ and 1 0 }} {{ or 0 "" "z" }} {{ not false }}', 'true 0 z true'],
    ['len and index', '{{ len .Labels }} {{ index .Labels "job" }}', '2 node'],
    ['parseDuration', '{{ parseDuration "1h30m" }}', '5400'],
    ['small and large floats print as Go prints them', '{{ 0.00001 }} {{ 123456.0 }} {{ 1234567.0 }} {{ 100 }}', '1e-05 123456 1.234567e+06 100'],
  ])('%s', (_name, text, want) => {
    expect(AlertTemplate.parse(text).expand(data)).toBe(want)
  })

  it('runs queries through the injected function and reads their samples', () => {
    const t = AlertTemplate.parse('{{ with query "up" }}{{ . | first | value | humanize }} on {{ (first .).Labels.instance }}{{ end }} {{ range query "up" }}{{ label "instance" . }},{{ end }}')
    const got = t.expand(data, (q) => (q === 'up' ? [querySample({ instance: 'a' }, 0.5), querySample({ instance: 'b' }, 1)] : []))
    expect(got).toBe('500m on a a,b,')
  })
})

describe('template errors', () => {
  it.each([
    ['unclosed action', '{{ $labels.job', /unclosed action/],
    ['undefined function', '{{ humanise $value }}', /function "humanise" not defined/],
    ['undefined variable', '{{ $nope }}', /undefined variable "\$nope"/],
    ['unexpected end', '{{ end }}', /unexpected/],
    ['missing end', '{{ if true }}x', /unexpected EOF/],
    ['unterminated string', '{{ "abc }}', /unterminated/],
    ['else outside a block', '{{ else }}', /unexpected/],
    ['break outside range', '{{ break }}', /outside/],
    ['variable out of scope after end', '{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}', /undefined variable/],
  ])('parse error: %s', (_name, text, message) => {
    expect(() => AlertTemplate.parse(text)).toThrow(TemplateParseError)
    expect(() => AlertTemplate.parse(text)).toThrow(message)
  })

  it.each([
    ['float64 compared with int', '{{ if gt $value 1 }}x{{ end }}', /incompatible types for comparison/],
    ['a field that does not exist', '{{ .Lables }}', /can't evaluate field Lables/],
    ['a field of a string', '{{ $labels.job.name }}', /can't evaluate field name in type string/],
    ['humanize of a word', '{{ humanize "lots" }}', /error calling humanize/],
    ['first of an empty result', '{{ first (query "up") }}', /first\(\) called on vector with no elements/],
    ['toUpper of a number', '{{ toUpper $value }}', /wrong type/],
    ['wrong argument count', '{{ humanize 1.0 2.0 }}', /wrong number of args/],
  ])('execution error: %s', (_name, text, message) => {
    const t = AlertTemplate.parse(text)
    expect(() => t.expand(data)).toThrow(TemplateExecError)
    expect(() => t.expand(data)).toThrow(message)
  })
})
