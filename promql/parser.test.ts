import { describe, expect, it } from 'vitest'
import { PromQLParseError } from './api.js'
import type { Expr } from './ast.js'
import { parsePromQL, typeOf } from './parser.js'
import { printExpr } from './printer.js'

function parseErr(q: string): PromQLParseError {
  try {
    parsePromQL(q)
  } catch (e) {
    expect(e).toBeInstanceOf(PromQLParseError)
    return e as PromQLParseError
  }
  throw new Error(`expected ${q} to fail`)
}

describe('parsePromQL rejects what Prometheus rejects, with its message and position', () => {
  const cases: [query: string, message: string, start?: number][] = [
    ['rate(foo)', '1:6: parse error: expected type range vector in call to function "rate", got instant vector', 5],
    ['{job=~".*"}', '1:1: parse error: vector selector must contain at least one non-empty matcher', 0],
    ['{job=""}', '1:1: parse error: vector selector must contain at least one non-empty matcher', 0],
    ['1 > 2', '1:3: parse error: comparisons between scalars must use BOOL modifier', 2],
    ['rat(foo)', '1:1: parse error: unknown function with name "rat"', 0],
    ['sum(foo) by (a) by (b)', '1:17: parse error: unexpected "by"', 16],
    ['foo offset 1m offset 2m', '1:1: parse error: offset may not be set multiple times', 0],
    ['(foo) offset 1m', '1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery', 0],
    ['foo offset 1m [5m]', '1:15: parse error: no offset modifiers allowed before range'],
    ['rate(foo[5m])[1m]', '1:14: parse error: ranges only allowed for vector selectors'],
    ['foo[5m][1m:]', '1:1: parse error: subquery is only allowed on instant vector, got range vector instead', 0],
    ['foo{__name__="bar"}', '1:1: parse error: metric name must not be set twice: "foo" or "bar"', 0],
    ['a and 1', '1:1: parse error: set operator "and" not allowed in binary scalar expression', 0],
    ['1 + on(a) 2', '1:1: parse error: vector matching only allowed between instant vectors', 0],
    ['foo + on(a) group_left 2', '1:1: parse error: vector matching only allowed between instant vectors', 0],
    ['a + on(b) group_left(b) c', '1:3: parse error: label "b" must not occur in ON and GROUP clause at once', 2],
    ['a + bool b', '1:3: parse error: bool modifier can only be used on comparison operators', 2],
    ['-"foo"', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"', 0],
    ['sum(1, foo)', '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2', 0],
    ['topk(foo)', '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1', 0],
    ['topk("a", foo)', '1:6: parse error: expected type scalar in aggregation parameter, got string', 5],
    ['sum(foo[5m])', '1:5: parse error: expected type instant vector in aggregation expression, got range vector', 4],
    ['clamp(foo)', '1:1: parse error: expected 3 argument(s) in call to "clamp", got 1', 0],
    ['round(foo, 1, 2)', '1:1: parse error: expected at most 2 argument(s) in call to "round", got 3', 0],
    ['foo{', '1:5: parse error: unexpected end of input inside braces', 4],
    ['rate(foo[5m]', '1:13: parse error: unclosed left parenthesis', 12],
    ['foo[5m', '1:7: parse error: unclosed left bracket', 6],
    ['foo{a=~"("}', '1:5: parse error: error parsing regexp: missing closing ): `^(?s:()$`', 4],
    ['', '1:1: parse error: no expression found in input', 0],
    ['1 +', '1:4: parse error: unexpected end of input', 3],
    ['foo @ 1 @ 2', '1:1: parse error: @ <timestamp> may not be set multiple times', 0],
    ['foo[0s]', '1:5: parse error: duration must be greater than 0'],
    ['foo\n  + rat(x)', '2:5: parse error: unknown function with name "rat"', 8],
  ]
  it.each(cases)('%j -> %s', (q, message, start) => {
    const e = parseErr(q)
    expect(e.message).toBe(message)
    if (start !== undefined) expect(e.position?.start).toBe(start)
  })
})

/** Evaluates a constant expression tree (numbers, unary, binary) to check precedence. */
function constValue(e: Expr): number {
  switch (e.type) {
    case 'NumberLiteral': return e.value
    case 'ParenExpr': return constValue(e.expr)
    case 'UnaryExpr': return e.op === '-' ? -constValue(e.expr) : constValue(e.expr)
    case 'BinaryExpr': {
      const l = constValue(e.lhs), r = constValue(e.rhs)
      switch (e.op) {
        case '+': return l + r
        case '-': return l - r
        case '*': return l * r
        case '/': return l / r
        case '%': return l % r
        case '^': return Math.pow(l, r)
        default: throw new Error(e.op)
      }
    }
    default: throw new Error(e.type)
  }
}

describe('parsePromQL binds operators as Prometheus does', () => {
  const cases: [string, number][] = [
    ['-1 ^ 2', -1],
    ['-2 ^ 2', -4],
    ['(-2) ^ 2', 4],
    ['2 ^ 3 ^ 2', 512],
    ['1 - 2 - 3', -4],
    ['2 * 3 + 4 * 5', 26],
    ['-1 * 2', -2],
    ['1 - -1', 2],
    ['+0.2', 0.2],
    ['0x1F + 010', 39],
    ['1e3 / 10', 100],
    ['Inf - inF', NaN],
    ['2. + .5', 2.5],
    ['1m + 1', 61],
    ['- - 3', 3],
  ]
  it.each(cases)('%s = %d', (q, v) => {
    expect(constValue(parsePromQL(q))).toBe(v)
  })

  it('keeps offset and @ on the selector right before them, not the whole expression', () => {
    const e = parsePromQL('-foo offset 5m + bar @ 10')
    expect(e.type).toBe('BinaryExpr')
    if (e.type !== 'BinaryExpr') return
    expect(e.lhs).toMatchObject({ type: 'UnaryExpr', expr: { type: 'VectorSelector', name: 'foo', offset: 300_000 } })
    expect(e.rhs).toMatchObject({ type: 'VectorSelector', name: 'bar', at: { kind: 'time', t: 10_000 } })
  })

  it('takes offset arguments as literals: `x offset 2 ^ 2` is `(x offset 2) ^ 2`', () => {
    const e = parsePromQL('foo offset 2 ^ 2')
    expect(e).toMatchObject({ type: 'BinaryExpr', op: '^', lhs: { type: 'VectorSelector', offset: 2000 } })
  })

  it('evaluates duration arithmetic in ranges and offsets', () => {
    expect(parsePromQL('rate(foo[26m+4m])')).toMatchObject({ args: [{ type: 'MatrixSelector', range: 1_800_000 }] })
    expect(parsePromQL('foo[1h/2:2m*(10+5)]')).toMatchObject({ type: 'SubqueryExpr', range: 1_800_000, step: 1_800_000 })
    expect(parsePromQL('foo offset -(1m + 30s)')).toMatchObject({ offset: -90_000 })
  })

  it('rejects experimental syntax when it is switched off, as a stock Prometheus server', () => {
    const off = { experimentalFunctions: false, durationExpressions: false }
    expect(() => parsePromQL('sort_by_label(foo, "a")', off)).toThrow('function "sort_by_label" is not enabled')
    expect(() => parsePromQL('limitk(1, foo)', off)).toThrow('limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions')
    expect(() => parsePromQL('foo[5m+1m]', off)).toThrow('experimental duration expression is not enabled')
    expect(() => parsePromQL('foo offset (1m)', off)).toThrow('experimental duration expression is not enabled')
    expect(parsePromQL('rate(foo[5m] offset -1m)', off)).toMatchObject({ type: 'Call' })
    expect(parsePromQL('foo[300:1m]', off)).toMatchObject({ type: 'SubqueryExpr', range: 300_000 })
  })

  it('accepts empty on()/group_left() next to a scalar, as Prometheus does', () => {
    expect(parsePromQL('vector(1) + on() group_left() scalar(foo)')).toMatchObject({ type: 'BinaryExpr', matching: undefined })
  })

  it('types expressions', () => {
    expect(typeOf(parsePromQL('foo[5m]'))).toBe('matrix')
    expect(typeOf(parsePromQL('time()'))).toBe('scalar')
    expect(typeOf(parsePromQL('1 + foo'))).toBe('vector')
    expect(typeOf(parsePromQL('"x"'))).toBe('string')
  })
})

describe('printExpr round-trips through the parser', () => {
  const queries = [
    'sum by (job) (rate(http_requests_total{code=~"5..",job!="x"}[5m] offset -1m))',
    'a / on (b) group_left (c) d',
    'a > bool 1',
    'topk(3, foo @ 100.000)',
    'max_over_time(rate(foo[5m])[30m:1m] @ end())',
    'label_replace(up, "a", "$1", "instance", "(.*):.*")',
    'count_values without (x) ("v", foo)',
    '-(1 + 2) ^ 2',
    '{"metric.with.dots", a="b"}',
  ]
  it.each(queries)('%s', (q) => {
    const e = parsePromQL(q)
    const strip = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (k, v) => (k === 'pos' || k === 'hasGrouping' || k === 'explicit' || k === 'duration' ? undefined : v)))
    expect(strip(parsePromQL(printExpr(e)))).toEqual(strip(e))
  })
})

describe('parsePromQL on arbitrary input', () => {
  it('either parses or throws PromQLParseError, never anything else', async () => {
    const fc = (await import('fast-check')).default
    const alphabet = ['foo', 'bar', '{', '}', '(', ')', '[', ']', '5m', ':', ',', '"x"', "'", '=', '=~', '!=', '+', '-', '*', '/', '^', '@', ' offset ', ' by ', 'sum', 'rate', '1', '.', 'e', '#', '\n', ' and ', ' bool ', 'on', 'group_left', '`']
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 25 }), (parts) => {
        const q = parts.join('')
        try {
          const e = parsePromQL(q)
          // What parses must print to something that parses to the same type.
          expect(typeOf(parsePromQL(printExpr(e)))).toBe(typeOf(e))
        } catch (err) {
          if (!(err instanceof PromQLParseError)) throw err
        }
      }),
      { numRuns: 3000 },
    )
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (q) => {
        try { parsePromQL(q) } catch (err) { if (!(err instanceof PromQLParseError)) throw err }
      }),
      { numRuns: 3000 },
    )
  })

  it('rejects absurd nesting as bad input', () => {
    expect(() => parsePromQL('('.repeat(100_000) + '1' + ')'.repeat(100_000))).toThrow(PromQLParseError)
  })
})
