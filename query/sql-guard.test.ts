import { describe, expect, it } from 'vitest'
import { checkNormalisedStatement, unquotedWords } from './sql-guard.js'

describe('checkNormalisedStatement', () => {
  const allowed = [
    'SELECT count() FROM samples',
    'WITH 1 AS x SELECT x',
    'SHOW TABLES',
    'DESCRIBE TABLE samples',
    'EXPLAIN SELECT 1',
    'EXISTS TABLE samples',
    "SELECT 'INTO OUTFILE' AS `INTO OUTFILE`",
    '(SELECT 1) UNION ALL (SELECT 2)',
  ]
  for (const sql of allowed) it(`allows ${sql}`, () => expect(() => checkNormalisedStatement(sql)).not.toThrow())

  const refused: [string, RegExp][] = [
    ["SELECT 1 INTO OUTFILE '/tmp/x'", /INTO OUTFILE is not allowed/],
    ["SELECT 1 INTO OUTFILE '/tmp/x' FORMAT CSV", /INTO OUTFILE/],
    ['INSERT INTO samples FORMAT Values', /only reading statements/],
    ['DROP TABLE samples', /not DROP/],
    ['ALTER TABLE samples DELETE WHERE 1', /not ALTER/],
    ['SYSTEM SHUTDOWN', /not SYSTEM/],
    ['SET readonly = 0', /not SET/],
    ['', /empty query/],
  ]
  for (const [sql, message] of refused) it(`refuses ${sql || 'an empty query'}`, () => expect(() => checkNormalisedStatement(sql)).toThrow(message))
})

describe('unquotedWords', () => {
  it('skips quoted strings and identifiers, escapes included', () => {
    expect(unquotedWords("SELECT 'it\\'s OUTFILE', `INTO`, \"x\" FROM t")).toEqual(['SELECT', 'FROM', 'T'])
  })
})
