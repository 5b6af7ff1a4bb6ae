/**
 * fast-check fuzzing of every parser that reads bytes or text from the network: snappy
 * (native and JS), remote write 1.0 and 2.0, PromQL, rule-file YAML and the SQL guard's
 * readers. Each must either answer or refuse with its own typed error (never a TypeError,
 * RangeError or stack overflow that would become a 500), within a bound of time per input,
 * and without keeping memory after the run. Inputs are random bytes, random text from the
 * parser's own alphabet, and valid inputs with bytes flipped, cut or repeated.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BadRequestError, MetrichouseError } from '../../errors/http-errors.js'
import { PromQLParseError } from '../../promql/api.js'
import { parsePromQL } from '../../promql/parser.js'
import { decodeWriteRequestV1 } from '../../proto/decode-v1.js'
import { decodeWriteRequestV2 } from '../../proto/decode-v2.js'
import { encodeWriteRequestV1 } from '../../proto/encode-v1.js'
import { createJsSnappyCodec, createSnappyCodec, type SnappyCodec } from '../../proto/snappy.js'
import { parseRuleFile } from '../../rules-compiler/rule-file.js'
import { SqlRefusedError, checkNormalisedStatement, parseExplainAst, storeClientPolicy } from '../../store/sql-guard.js'
import { FunctionPolicy } from '../../store/sql-function-policy.js'

const RUNS = 300
/** Per input: far above any honest parse here (well under 10 ms), far below a hang. */
const MAX_MS_PER_INPUT = 2_000
const MAX_OUTPUT_BYTES = 1 << 20

/** Runs `parse` on every input; only errors `allowed` accepts may escape; returns the slowest input's time. */
function fuzz<T>(arb: fc.Arbitrary<T>, parse: (input: T) => unknown, allowed: (err: unknown) => boolean): number {
  let slowest = 0
  fc.assert(
    fc.property(arb, (input) => {
      const t0 = performance.now()
      try {
        parse(input)
      } catch (err) {
        if (!allowed(err)) throw err
      }
      slowest = Math.max(slowest, performance.now() - t0)
    }),
    { numRuns: RUNS, seed: 0x5eed17 },
  )
  return slowest
}

/** Valid bytes with a few flipped, a piece cut out, or a piece repeated. */
function mutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'cut', 'repeat')).map(([a, b, byte, how]) => {
    const i = a % valid.length
    const j = i + (b % Math.max(1, valid.length - i))
    if (how === 'flip') {
      const out = Uint8Array.from(valid)
      out[i] ^= byte || 1
      return out
    }
    if (how === 'cut') return Uint8Array.from([...valid.subarray(0, i), ...valid.subarray(j)])
    return Uint8Array.from([...valid.subarray(0, j), ...valid.subarray(i, j), ...valid.subarray(j)])
  })
}

const VALID_V1 = encodeWriteRequestV1(
  Array.from({ length: 5 }, (_, k) => ({
    labels: [
      { name: '__name__', value: 'fuzz_metric' },
      { name: 'k', value: String(k) },
    ],
    samples: Array.from({ length: 4 }, (_, i) => ({ timestampMs: 1_700_000_000_000 + i * 15_000, value: k + i / 7 })),
  })),
)

const typedBadRequest = (err: unknown): boolean => err instanceof MetrichouseError

describe('fuzz: snappy', () => {
  for (const [name, make] of [
    ['native (or its fallback)', () => createSnappyCodec()],
    ['JS', () => createJsSnappyCodec()],
  ] as const) {
    it(`${name}: random and damaged blocks decompress within the limit or are refused with a typed error`, async () => {
      const codec: SnappyCodec = await make()
      const check = (block: Uint8Array): void => {
        const out = codec.uncompress(block, MAX_OUTPUT_BYTES)
        expect(out.byteLength).toBeLessThanOrEqual(MAX_OUTPUT_BYTES)
      }
      const valid = codec.compress(VALID_V1)
      expect(fuzz(fc.uint8Array({ maxLength: 4096 }), check, typedBadRequest)).toBeLessThan(MAX_MS_PER_INPUT)
      expect(fuzz(mutated(valid), check, typedBadRequest)).toBeLessThan(MAX_MS_PER_INPUT)
    })
  }
})

describe('fuzz: remote-write protobuf', () => {
  const decoders = [
    ['1.0', decodeWriteRequestV1],
    ['2.0', decodeWriteRequestV2],
  ] as const
  for (const [version, decode] of decoders) {
    it(`${version}: random and damaged messages decode or are refused as bad requests`, () => {
      const bad = (err: unknown): boolean => err instanceof BadRequestError
      expect(fuzz(fc.uint8Array({ maxLength: 4096 }), decode, bad)).toBeLessThan(MAX_MS_PER_INPUT)
      expect(fuzz(mutated(VALID_V1), decode, bad)).toBeLessThan(MAX_MS_PER_INPUT)
    })
  }
})

describe('fuzz: PromQL', () => {
  const tokens = ['sum', 'rate', 'by', 'without', '(', ')', '{', '}', '[', ']', '5m', ':', '1s', 'offset', '@', 'x', 'up', '=~', '!=', '"a"', ',', '+', '*', '/', '^', 'and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'count_values', 'topk', '1e308', '-', 'Inf', 'NaN', ' ', '\n', '#', '`', "'", '\\']
  const promqlish = fc.array(fc.constantFrom(...tokens), { maxLength: 60 }).map((t) => t.join(''))
  const deep = fc.integer({ min: 1, max: 5000 }).map((n) => '('.repeat(n) + 'up' + ')'.repeat(n))
  it('random expressions, deep nesting and random text parse or are refused with a parse error', () => {
    const parseError = (err: unknown): boolean => err instanceof PromQLParseError
    expect(fuzz(promqlish, parsePromQL, parseError)).toBeLessThan(MAX_MS_PER_INPUT)
    expect(fuzz(fc.string({ maxLength: 300 }), parsePromQL, parseError)).toBeLessThan(MAX_MS_PER_INPUT)
    expect(fuzz(deep, parsePromQL, parseError)).toBeLessThan(MAX_MS_PER_INPUT)
  })
})

describe('fuzz: rule files', () => {
  const yamlish = fc
    .array(fc.constantFrom('groups:', '\n', '  - name: g', '    rules:', '      - record: r', '        expr: up', '      - alert: A', '        for: 5m', '&a', '*a', '[', '{', '"', "'", ': ', '- ', '!!binary', '---', '\t', '<<: *a'), { maxLength: 80 })
    .map((t) => t.join(''))
  it('random YAML, rule-shaped text and alias bombs give problems, never an exception', () => {
    const nothing = (): boolean => false
    const parse = (text: string): void => {
      const loaded = parseRuleFile('fuzz.yml', text)
      expect(Array.isArray(loaded.problems)).toBe(true)
    }
    expect(fuzz(yamlish, parse, nothing)).toBeLessThan(MAX_MS_PER_INPUT)
    expect(fuzz(fc.string({ maxLength: 500 }), parse, nothing)).toBeLessThan(MAX_MS_PER_INPUT)
    const bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`).join('\n')
    expect(fuzz(fc.constant(bomb), parse, nothing)).toBeLessThan(MAX_MS_PER_INPUT)
  })
})

describe('fuzz: the SQL guard', () => {
  const policy = storeClientPolicy(new FunctionPolicy([], []))
  it('random statements and random EXPLAIN AST text are read or refused, never crash', () => {
    const sqlish = fc.array(fc.constantFrom('SELECT', 'INSERT', 'INTO', 'OUTFILE', 'FROM', 'file', '(', ')', "'", '"', '`', '\\', ';', '--', '/*', '*/', ' ', 'x', 'SYSTEM', 'SET', 'WITH', '\n'), { maxLength: 60 }).map((t) => t.join(' '))
    const refused = (err: unknown): boolean => err instanceof SqlRefusedError
    expect(fuzz(sqlish, (s) => checkNormalisedStatement(s, policy), refused)).toBeLessThan(MAX_MS_PER_INPUT)
    expect(fuzz(fc.string({ maxLength: 400 }), (s) => checkNormalisedStatement(s, policy), refused)).toBeLessThan(MAX_MS_PER_INPUT)
    expect(fuzz(fc.string({ maxLength: 400 }), parseExplainAst, refused)).toBeLessThan(MAX_MS_PER_INPUT)
  })
})

describe('fuzz: memory', () => {
  it('keeps no memory after thousands of hostile inputs', async () => {
    const codec = await createJsSnappyCodec()
    global.gc?.()
    const before = process.memoryUsage().heapUsed
    fuzz(fc.uint8Array({ maxLength: 4096 }), (b) => decodeWriteRequestV1(codec.uncompress(b, MAX_OUTPUT_BYTES)), typedBadRequest)
    fuzz(fc.string({ maxLength: 300 }), parsePromQL, (e) => e instanceof PromQLParseError)
    global.gc?.()
    // Generous: a leak of the inputs themselves (300 x 4 KiB) would not show; retained
    // decoded state across runs (a cache without a bound) would.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024)
  })
})
