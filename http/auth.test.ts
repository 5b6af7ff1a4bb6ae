import { describe, expect, it } from 'vitest'
import { checkAuthorization } from './auth.js'

const basic = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64')

describe('checkAuthorization', () => {
  const both = { bearerToken: 's3cret', basicUsername: 'prom', basicPassword: 'pw:with:colons' }
  const cases: [string, Parameters<typeof checkAuthorization>[1], string | undefined, boolean][] = [
    ['anything when no credential is configured', {}, undefined, true],
    ['no header when a token is configured', both, undefined, false],
    ['the right bearer token', both, 'Bearer s3cret', true],
    ['the bearer scheme in any case', both, 'bearer s3cret', true],
    ['a wrong bearer token', both, 'Bearer s3cre', false],
    ['a longer wrong token', both, 'Bearer s3cret-and-more', false],
    ['the right basic credentials', both, basic('prom', 'pw:with:colons'), true],
    ['a wrong basic password', both, basic('prom', 'pw'), false],
    ['a wrong basic user', both, basic('grafana', 'pw:with:colons'), false],
    ['basic without a colon', both, 'Basic ' + Buffer.from('prom').toString('base64'), false],
    ['basic when only a token is configured', { bearerToken: 't' }, basic('prom', 't'), false],
    ['an unknown scheme', both, 'Digest s3cret', false],
    ['a header without a scheme', both, 's3cret', false],
    ['a bearer credential of a no-break space', both, 'Bearer \u00a0', false],
    ['an empty bearer credential', both, 'Bearer ', false],
    ['an empty bearer credential against an empty token', { bearerToken: '' }, 'Bearer \u00a0', false],
    ['an empty password against a user without one', { basicUsername: 'u', basicPassword: '' }, basic('u', ''), false],
  ]
  for (const [name, auth, header, want] of cases) it(`${want ? 'accepts' : 'refuses'} ${name}`, () => expect(checkAuthorization(header, auth)).toBe(want))
})
