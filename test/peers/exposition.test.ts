import { describe, expect, it } from 'vitest'
import { parseExposition, sumOf } from './exposition.js'

describe('parseExposition', () => {
  const cases: { name: string; text: string; want: ReturnType<typeof parseExposition> }[] = [
    { name: 'skips comments and blank lines', text: '# HELP a b\n\n# TYPE a counter\na 1\n', want: [{ name: 'a', labels: {}, value: 1 }] },
    {
      name: 'reads labels with escapes and spaces after commas',
      text: 'm{a="x",b="say \\"hi\\"", c="1\\\\2"} 2.5\n',
      want: [{ name: 'm', labels: { a: 'x', b: 'say "hi"', c: '1\\2' }, value: 2.5 }],
    },
    { name: 'reads special values', text: 'a +Inf\nb -Inf\nc NaN\n', want: [
      { name: 'a', labels: {}, value: Infinity },
      { name: 'b', labels: {}, value: -Infinity },
      { name: 'c', labels: {}, value: NaN },
    ] },
    { name: 'ignores a trailing timestamp', text: 'a 3 1700000000000\n', want: [{ name: 'a', labels: {}, value: 3 }] },
  ]
  for (const c of cases) {
    it(c.name, () => expect(parseExposition(c.text)).toEqual(c.want))
  }
})

describe('sumOf', () => {
  const samples = parseExposition('x{u="1",s="a"} 1\nx{u="2",s="a"} 2\nx{u="3",s="b"} 4\ny 8\n')
  const cases: { name: string; metric: string; match: Record<string, string>; want: number | undefined }[] = [
    { name: 'sums every series of a metric', metric: 'x', match: {}, want: 7 },
    { name: 'sums the series matching labels', metric: 'x', match: { s: 'a' }, want: 3 },
    { name: 'is undefined for an absent metric', metric: 'z', match: {}, want: undefined },
  ]
  for (const c of cases) {
    it(c.name, () => expect(sumOf(samples, c.metric, c.match)).toBe(c.want))
  }
})
