import { describe, expect, it } from 'vitest'
import { decodeQueryParams, placeholderTypes, unescapeClickHouseString } from './query-params.js'

describe('unescapeClickHouseString', () => {
  const cases: [string, string][] = [
    ['plain', 'plain'],
    ["it\\'s", "it's"],
    ['tab\\there', 'tab\there'],
    ['back\\\\slash', 'back\\slash'],
    ['new\\nline', 'new\nline'],
    ['hex\\x41', 'hexA'],
    ['unknown\\q', 'unknownq'],
  ]
  for (const [input, want] of cases) it(`turns ${input} into ${JSON.stringify(want)}`, () => expect(unescapeClickHouseString(input)).toBe(want))
})

describe('decodeQueryParams', () => {
  it('unescapes only String-typed placeholders', () => {
    const sql = 'SELECT {s:String}, {n:Nullable(String)}, {l:LowCardinality(String)}, {f:FixedString(3)}, {u:UInt64}, {a:Array(String)}'
    expect(decodeQueryParams(sql, { s: "a\\'b", n: 'x\\ty', l: 'q\\\\', f: 'ab\\n', u: '42', a: "['x\\'y']", extra: 'z\\n' })).toEqual({
      s: "a'b",
      n: 'x\ty',
      l: 'q\\',
      f: 'ab\n',
      u: '42',
      a: "['x\\'y']",
      extra: 'z\\n',
    })
  })

  it('reads placeholder types with spaces', () => {
    expect(placeholderTypes('SELECT { name : String }')).toEqual(new Map([['name', 'String']]))
  })
})
