import { describe, expect, it } from 'vitest'
import { REDACTED, redactConfig } from './redact.js'

describe('redactConfig', () => {
  const cases: Array<{ name: string; input: unknown; expected: unknown }> = [
    { name: 'a bearer token', input: { auth: { bearerToken: 's3cret' } }, expected: { auth: { bearerToken: REDACTED } } },
    { name: 'a basic password', input: { auth: { basicUsername: 'u', basicPassword: 'p' } }, expected: { auth: { basicUsername: 'u', basicPassword: REDACTED } } },
    { name: 'a password inside a URL', input: { redisUrl: 'redis://user:pw@cache:6379/0' }, expected: { redisUrl: `redis://user:${REDACTED}@cache:6379/0` } },
    { name: 'an SASL password in a list', input: { brokers: ['k1:9092'], sasl: [{ password: 'x' }] }, expected: { brokers: ['k1:9092'], sasl: [{ password: REDACTED }] } },
    { name: 'the path of a token file (not a secret itself)', input: { bearerTokenFile: '/run/token' }, expected: { bearerTokenFile: '/run/token' } },
    { name: 'an unset secret stays visibly unset', input: { clickhouse: { password: '' } }, expected: { clickhouse: { password: '' } } },
    { name: 'numbers and booleans', input: { wal: { maxBytes: 10, fsync: true } }, expected: { wal: { maxBytes: 10, fsync: true } } },
  ]
  for (const c of cases) it(`redacts ${c.name}`, () => expect(redactConfig(c.input)).toEqual(c.expected))
})
