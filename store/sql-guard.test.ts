import { describe, expect, it } from 'vitest'
import { FunctionPolicy, type FunctionCatalogueRow } from './sql-function-policy.js'
import { adHocReadPolicy, checkAst, checkNormalisedStatement, parseExplainAst, storeClientPolicy, unquotedWords } from './sql-guard.js'

const noFunctions = new FunctionPolicy([], [])
const adHoc = adHocReadPolicy('default', noFunctions)
const store = storeClientPolicy(noFunctions)

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
  for (const sql of allowed) it(`allows ${sql}`, () => expect(() => checkNormalisedStatement(sql, adHoc)).not.toThrow())

  const refused: [string, RegExp][] = [
    ["SELECT 1 INTO OUTFILE '/tmp/x'", /INTO OUTFILE is not allowed/],
    ["SELECT 1 INTO OUTFILE '/tmp/x' FORMAT CSV", /INTO OUTFILE/],
    ['INSERT INTO samples FORMAT Values', /statements are allowed here, not INSERT/],
    ['DROP TABLE samples', /not DROP/],
    ['SHOW DATABASES', /SHOW DATABASES is not allowed here/],
    ['ALTER TABLE samples DELETE WHERE 1', /not ALTER/],
    ['SYSTEM SHUTDOWN', /not SYSTEM/],
    ['SET readonly = 0', /not SET/],
    ['', /empty query/],
  ]
  for (const [sql, message] of refused) it(`refuses ${sql || 'an empty query'}`, () => expect(() => checkNormalisedStatement(sql, adHoc)).toThrow(message))
})

describe('checkNormalisedStatement for store clients', () => {
  const allowed = ['CREATE TABLE IF NOT EXISTS t (a UInt8) ENGINE = MergeTree ORDER BY a', 'CREATE MATERIALIZED VIEW v TO t AS SELECT 1', 'ALTER TABLE t MODIFY TTL d', 'SYSTEM REFRESH VIEW v', 'SYSTEM WAIT VIEW v', 'INSERT INTO t VALUES (1)', 'SELECT 1', 'DROP TABLE t']
  for (const sql of allowed) it(`allows ${sql}`, () => expect(() => checkNormalisedStatement(sql, store)).not.toThrow())
  const refused: [string, RegExp][] = [
    ['SYSTEM SHUTDOWN', /SYSTEM SHUTDOWN is not allowed/],
    ['SYSTEM DROP MARK CACHE', /SYSTEM DROP is not allowed/],
    ["BACKUP TABLE t TO File('/tmp/b')", /not BACKUP/],
    ["ATTACH TABLE x FROM '/tmp/x' (a UInt8) ENGINE = Log", /not ATTACH/],
    ["CREATE DICTIONARY d (a UInt64) PRIMARY KEY a SOURCE(FILE(path '/etc/passwd' format 'TSV')) LAYOUT(FLAT()) LIFETIME(0)", /CREATE DICTIONARY is not allowed/],
    ['CREATE FUNCTION f AS x -> x', /CREATE FUNCTION is not allowed/],
    ['SET readonly = 0', /not SET/],
    ["SELECT 1 INTO OUTFILE '/tmp/x'", /INTO OUTFILE/],
  ]
  for (const [sql, message] of refused) it(`refuses ${sql}`, () => expect(() => checkNormalisedStatement(sql, store)).toThrow(message))
})

describe('unquotedWords', () => {
  it('skips quoted strings and identifiers, escapes included', () => {
    expect(unquotedWords("SELECT 'it\\'s OUTFILE', `INTO`, \"x\" FROM t")).toEqual(['SELECT', 'FROM', 'T'])
  })
})

describe('FunctionPolicy', () => {
  const row = (name: string, categories: string, extra: Partial<FunctionCatalogueRow> = {}): FunctionCatalogueRow => ({ name, categories, is_aggregate: 0, case_insensitive: 0, alias_to: '', ...extra })
  const policy = new FunctionPolicy(
    [
      row('plus', 'Arithmetic'),
      row('sum', 'Aggregate Functions', { is_aggregate: 1, case_insensitive: 1 }),
      row('quantile', 'Aggregate Functions', { is_aggregate: 1 }),
      row('file', 'Other'),
      row('toTypeName', 'Other'),
      row('hostname', '', { alias_to: 'hostName' }),
      row('hostName', 'Other'),
      row('substr', '', { alias_to: 'substring' }),
      row('substring', 'String'),
      row('aiGenerate', 'AI'),
    ],
    ['If', 'State', 'Merge', 'MergeState', 'OrNull'],
  )
  const cases: [string, boolean][] = [
    ['plus', true],
    ['SUM', true], // case-insensitive in the catalogue
    ['PLUS', false], // case-sensitive in the catalogue
    ['sumIf', true],
    ['quantileStateMerge', true],
    ['quantileMergeState', true],
    ['fileIf', false], // not an aggregate behind a combinator
    ['file', false],
    ['toTypeName', true], // "Other", but named as value-only
    ['hostname', false], // an alias takes its target's verdict
    ['substr', true],
    ['aiGenerate', false],
    ['lambda', true],
    ['noSuchFunction', false],
  ]
  for (const [name, want] of cases) it(`${want ? 'allows' : 'refuses'} ${name}`, () => expect(policy.allows(name)).toBe(want))
})

describe('checkAst', () => {
  const functions = new FunctionPolicy([{ name: 'count', categories: 'Aggregate Functions', is_aggregate: 1, case_insensitive: 1, alias_to: '' }, { name: 'file', categories: 'Other', is_aggregate: 0, case_insensitive: 0, alias_to: '' }, { name: 'in', categories: 'Comparison', is_aggregate: 0, case_insensitive: 0, alias_to: '' }], [])
  const policy = adHocReadPolicy('metrics', functions)
  const select = (from: string, expr = ' Function count (children 1)\n     ExpressionList') => `SelectWithUnionQuery (children 1)\n ExpressionList (children 1)\n  SelectQuery (children 2)\n   ExpressionList (children 1)\n   ${expr}\n   TablesInSelectQuery (children 1)\n    TablesInSelectQueryElement (children 1)\n     TableExpression (children 1)\n      ${from}\n`
  const cases: { name: string; tree: string; refused?: RegExp }[] = [
    { name: 'a store table', tree: select('TableIdentifier samples (alias s)') },
    { name: 'a store table qualified with the served database', tree: select('TableIdentifier metrics.samples') },
    { name: 'another database', tree: select('TableIdentifier system.one'), refused: /only the tables of database metrics/ },
    { name: 'an allowed table function', tree: select('Function numbers (children 1)\n       ExpressionList (children 1)\n        Literal UInt64_3') },
    { name: 'a table function off the list', tree: select("Function url (children 1)\n       ExpressionList (children 1)\n        Literal 'http://x'"), refused: /table function url is not allowed/ },
    { name: 'a refused scalar function', tree: select('TableIdentifier samples', " Function file (children 1)\n     ExpressionList (children 1)\n      Literal '/etc/shadow'"), refused: /function file is not allowed/ },
    { name: 'a table on the right of IN', tree: select('TableIdentifier samples', ' Function in (children 1)\n     ExpressionList (children 2)\n      Identifier a\n      Identifier system.one'), refused: /not system\.one/ },
    { name: 'a statement kind off the list', tree: 'ShowProcesslistQuery\n', refused: /not allowed here/ },
    { name: 'two roots', tree: 'ShowTables\nShowTables\n', refused: /could not be read/ },
    { name: 'nothing', tree: '', refused: /could not be read/ },
  ]
  for (const c of cases) {
    it(`${c.refused ? 'refuses' : 'allows'} ${c.name}`, () => {
      const check = () => checkAst(parseExplainAst(c.tree), policy)
      if (c.refused) expect(check).toThrow(c.refused)
      else expect(check).not.toThrow()
    })
  }
})
