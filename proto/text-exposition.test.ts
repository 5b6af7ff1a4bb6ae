// The text formats of a push: what each valid body decodes to, and, for every malformed one,
// a BadRequestError naming the line (never a TypeError, a hang, or a silently wrong sample).
import { describe, expect, it } from 'vitest'
import { BadRequestError } from '../errors/http-errors.js'
import { decodeExposition, ExpositionError, type TextFormat } from './text-exposition.js'

const NOW = 1_700_000_000_000

function decode(text: string, format: TextFormat = 'prometheus') {
  return decodeExposition(text, { format, defaultTimestampMs: NOW })
}

/** Each series as `name{a="b",...} value@ts` in body order, for compact expectations. */
function flat(text: string, format: TextFormat = 'prometheus'): string[] {
  return decode(text, format).series.flatMap((s) =>
    s.samples.map((x) => {
      const [name, ...rest] = s.labels
      const labels = rest.length ? `{${rest.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(',')}}` : ''
      return `${name.value}${labels} ${Object.is(x.value, -0) ? '-0' : String(x.value)}@${x.timestampMs === NOW ? 'now' : x.timestampMs}`
    }),
  )
}

describe('valid exposition text', () => {
  const CASES: { name: string; text: string; format?: TextFormat; want: string[] }[] = [
    { name: 'a bare sample takes the server time', text: 'up 1\n', want: ['up 1@now'] },
    { name: 'a timestamp in ms', text: 'up 1 1700000000123\n', want: ['up 1@1700000000123'] },
    { name: 'labels, blanks and a trailing comma', text: 'up{ job = "a" ,instance="b:1",} 0\n', want: ['up{job="a",instance="b:1"} 0@now'] },
    { name: 'escapes in label values', text: 'x{path="C:\\\\dir\\"q\\"\\nend"} 1\n', want: ['x{path="C:\\\\dir\\"q\\"\\nend"} 1@now'] },
    { name: 'NaN and infinities', text: 'a NaN\nb +Inf\nc -Inf\nd Inf\n', want: ['a NaN@now', 'b Infinity@now', 'c -Infinity@now', 'd Infinity@now'] },
    { name: 'exponents and negative zero', text: 'a 1.5e3\nb -0\nc .5\nd 2E-2\n', want: ['a 1500@now', 'b -0@now', 'c 0.5@now', 'd 0.02@now'] },
    { name: 'no newline at the end, CRLF lines, blank lines', text: 'a 1\r\n\r\nb 2', want: ['a 1@now', 'b 2@now'] },
    { name: 'plain comments are ignored', text: '# just a comment\n#\nup 1\n', want: ['up 1@now'] },
    { name: 'the same series twice keeps both samples', text: 'up 1 1000\nup 2 2000\n', want: ['up 1@1000', 'up 2@2000'] },
    {
      name: 'a histogram and a summary as their series',
      text: [
        '# TYPE rpc histogram',
        'rpc_bucket{le="0.1"} 3',
        'rpc_bucket{le="+Inf"} 5',
        'rpc_sum 1.2',
        'rpc_count 5',
        '# TYPE lat summary',
        'lat{quantile="0.99"} 0.3',
        'lat_sum 9',
        'lat_count 30',
        '',
      ].join('\n'),
      want: ['rpc_bucket{le="0.1"} 3@now', 'rpc_bucket{le="+Inf"} 5@now', 'rpc_sum 1.2@now', 'rpc_count 5@now', 'lat{quantile="0.99"} 0.3@now', 'lat_sum 9@now', 'lat_count 30@now'],
    },
    { name: 'OpenMetrics: timestamps in seconds', format: 'openmetrics', text: 'up 1 1700000000.5\n# EOF\n', want: ['up 1@1700000000500'] },
    {
      name: 'OpenMetrics: a counter with an exemplar',
      format: 'openmetrics',
      text: '# TYPE jobs counter\njobs_total 3 # {trace_id="abc"} 1 1700000000\njobs_created 1700000000\n# EOF\n',
      want: ['jobs_total 3@now', 'jobs_created 1700000000@now'],
    },
  ]
  for (const c of CASES) it(c.name, () => expect(flat(c.text, c.format)).toEqual(c.want))

  it("keeps NaN as Prometheus's normal NaN bits", () => {
    expect(decode('a NaN\n').series[0].samples[0].nanBits).toBe(0x7ff8000000000001n)
  })

  it('keeps # TYPE, # HELP and # UNIT as metadata, escapes resolved', () => {
    const text = '# HELP rpc_seconds RPC time\\nin \\\\ seconds.\n# TYPE rpc_seconds summary\n# UNIT rpc_seconds seconds\n# TYPE up untyped\nup 1\n'
    expect(decode(text).metadata).toEqual([
      { metricFamilyName: 'rpc_seconds', type: 'summary', help: 'RPC time\nin \\ seconds.', unit: 'seconds' },
      { metricFamilyName: 'up', type: 'unknown', help: '', unit: '' },
    ])
  })
})

describe('malformed exposition text', () => {
  // [name, body, format, the error message]
  const CASES: [string, string, TextFormat, string][] = [
    ['no value', 'up\n', 'prometheus', 'line 1: no value for "up"'],
    ['a value that is not a number', 'a 1\nup one\n', 'prometheus', 'line 2: invalid value "one"'],
    ['a hex value', 'up 0x10\n', 'prometheus', 'line 1: invalid value "0x10"'],
    ['a fractional ms timestamp', 'up 1 1.5\n', 'prometheus', 'line 1: invalid timestamp "1.5" (integer milliseconds expected)'],
    ['a huge timestamp', 'up 1 99999999999999999999\n', 'prometheus', 'line 1: invalid timestamp "99999999999999999999" (integer milliseconds expected)'],
    ['text after the timestamp', 'up 1 2 3\n', 'prometheus', 'line 1: unexpected text after the sample: "3"'],
    ['an unclosed label value', 'up{job="a} 1\n', 'prometheus', 'line 1: the value of label "job" is not closed'],
    ['unclosed labels', 'up{job="a" 1\n', 'prometheus', 'line 1: expected "," or "}" after the value of label "job" at column 12'],
    ['an unquoted label value', 'up{job=a} 1\n', 'prometheus', 'line 1: expected "\\"" to open the value of label "job" at column 8, found "a"'],
    ['a bad escape', 'up{job="a\\t"} 1\n', 'prometheus', 'line 1: invalid escape "\\t" in the value of label "job"'],
    ['a label name starting with a digit', 'up{1a="x"} 1\n', 'prometheus', 'line 1: expected a label name at column 4, found "1"'],
    ['a metric name with a dash', 'my-metric 1\n', 'prometheus', 'line 1: expected a blank before the value at column 3, found "-"'],
    ['a line starting with a digit', '\n\n9up 1\n', 'prometheus', 'line 3: expected a metric name at column 1, found "9"'],
    ['a second TYPE line', '# TYPE a gauge\n# TYPE a counter\n', 'prometheus', 'line 2: second TYPE line for metric "a"'],
    ['an unknown type', '# TYPE a timer\n', 'prometheus', 'line 1: unknown metric type "timer" for "a"'],
    ['an OpenMetrics-only type in Prometheus text', '# TYPE a stateset\n', 'prometheus', 'line 1: unknown metric type "stateset" for "a"'],
    ['a TYPE line without a name', '# TYPE\n', 'prometheus', 'line 1: expected a metric name after # TYPE at column 7, found the end of the line'],
    ['OpenMetrics without # EOF', 'up 1\n', 'openmetrics', 'line 2: missing "# EOF" at the end (OpenMetrics requires it)'],
    ['OpenMetrics text after # EOF', 'up 1\n# EOF\nup 2\n', 'openmetrics', 'line 3: text after "# EOF"'],
    ['OpenMetrics plain comments', '# hello\n# EOF\n', 'openmetrics', 'line 1: unknown comment "# hello" (OpenMetrics allows # HELP, # TYPE, # UNIT and # EOF)'],
    ['OpenMetrics exemplar without labels', 'a_total 1 # 5\n# EOF\n', 'openmetrics', 'line 1: expected "{" to open the labels at column 13, found "5"'],
    ['an exemplar in Prometheus text', 'a_total 1 # {x="y"} 1\n', 'prometheus', 'line 1: unexpected text after the sample: "# {x="y"} 1"'],
  ]
  for (const [name, text, format, message] of CASES) {
    it(`refuses ${name}`, () => {
      let caught: unknown
      try {
        decode(text, format)
      } catch (err) {
        caught = err
      }
      expect(caught).toBeInstanceOf(ExpositionError)
      expect(caught).toBeInstanceOf(BadRequestError)
      expect((caught as Error).message).toBe(message)
    })
  }

  it('refuses or decodes every prefix of a valid body, never throwing anything else', () => {
    const valid = '# HELP x A "help" \\\\ text\n# TYPE x histogram\nx_bucket{le="0.5",path="/a\\"b"} 1 1000\nx_sum NaN\n# EOF\n'
    for (const format of ['prometheus', 'openmetrics'] as const) {
      for (let cut = 0; cut <= valid.length; cut++) {
        try {
          decode(valid.slice(0, cut), format)
        } catch (err) {
          expect(err).toBeInstanceOf(ExpositionError)
        }
      }
    }
  })
})
