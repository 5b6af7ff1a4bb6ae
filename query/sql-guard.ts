/**
 * What ad-hoc SQL may do beyond what `readonly = 1` already forbids. ClickHouse's own
 * parser decides the statement's shape, so no hand-written SQL parser is trusted here.
 * Two passes, each over what the parser produced:
 * 1. on the statement as `formatQuerySingleLine` normalised it (the user's text passed as
 *    a bound parameter): exactly one statement (the parser refuses multi-statements), a
 *    reading one (SELECT / WITH / SHOW TABLES / DESCRIBE / EXPLAIN / EXISTS), and no
 *    INTO OUTFILE, which the embedded engine writes to the local disk even in readonly mode
 *    (measured with chDB 3.4.0);
 * 2. on the tree `EXPLAIN AST` prints for that normalised statement (parsing only, nothing
 *    runs): every function and table function on the allowlist of sql-function-policy.ts,
 *    every table in the served database. Readonly mode alone lets the scalar `file()` and
 *    `DESCRIBE file(...)` / `DESCRIBE url(...)` read files and reach hosts (measured), so
 *    this pass is what keeps the endpoint to the store's tables.
 */
import { BadRequestError } from '../errors/http-errors.js'
import { ALLOWED_TABLE_FUNCTIONS, type FunctionPolicy } from './sql-function-policy.js'

/**
 * A statement refused here, with the ClickHouse error a server in readonly mode would
 * report for it, so that clients see `Code: N. DB::Exception` as from ClickHouse itself.
 */
export class SqlRefusedError extends BadRequestError {
  constructor(
    message: string,
    readonly code: number,
    readonly codeName: string,
  ) {
    super(message)
  }
}

const READING_STATEMENTS = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN', 'EXISTS', '('])

// ClickHouse's codes for the refusals (ErrorCodes.cpp), so clients see what a server says.
const READONLY = [164, 'READONLY'] as const
const ACCESS_DENIED = [497, 'ACCESS_DENIED'] as const
const FUNCTION_NOT_ALLOWED = [446, 'FUNCTION_NOT_ALLOWED'] as const

function refuse(message: string, [code, codeName]: readonly [number, string]): never {
  throw new SqlRefusedError(message, code, codeName)
}

/** Splits normalised SQL into words, dropping quoted strings and identifiers. */
export function unquotedWords(sql: string): string[] {
  const words: string[] = []
  let i = 0
  while (i < sql.length) {
    const c = sql[i]
    if (c === "'" || c === '`' || c === '"') {
      i++
      while (i < sql.length && sql[i] !== c) i += sql[i] === '\\' ? 2 : 1
      i++
      continue
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1
      while (j < sql.length && /[A-Za-z0-9_]/.test(sql[j])) j++
      words.push(sql.slice(i, j).toUpperCase())
      i = j
      continue
    }
    if (c === '(' && words.length === 0) words.push('(')
    i++
  }
  return words
}

/** Throws SqlRefusedError unless the normalised statement is a single reading statement. */
export function checkNormalisedStatement(normalised: string): void {
  const words = unquotedWords(normalised)
  if (words.length === 0) throw new SqlRefusedError('empty query', 62, 'SYNTAX_ERROR')
  if (!READING_STATEMENTS.has(words[0])) refuse(`only reading statements are allowed here (SELECT, WITH, SHOW TABLES, DESCRIBE, EXPLAIN, EXISTS), not ${words[0].slice(0, 30)}`, READONLY)
  // SHOW DATABASES, SETTINGS, PROCESSLIST, USERS, GRANTS, ... describe the engine, not the store.
  if (words[0] === 'SHOW' && words[1] !== 'TABLES' && !(words[1] === 'CREATE' && words[2] === 'TABLE')) refuse('only SHOW TABLES and SHOW CREATE TABLE are allowed here', ACCESS_DENIED)
  for (let k = 0; k + 1 < words.length; k++) {
    if (words[k] === 'INTO' && words[k + 1] === 'OUTFILE') throw new SqlRefusedError('INTO OUTFILE is not allowed', 358, 'INTO_OUTFILE_NOT_ALLOWED')
  }
}

/** One node of the tree `EXPLAIN AST` prints: its kind, the rest of its line, its children. */
export interface AstNode {
  kind: string
  /** What follows the kind on its line, without " (children N)": a name, an alias. */
  detail: string
  children: AstNode[]
}

/**
 * Reads `EXPLAIN AST` output (one node a line, one space of indent a level) into a tree.
 * Anything it cannot read is refused by the caller: this reading fails closed.
 */
export function parseExplainAst(text: string): AstNode[] {
  const roots: AstNode[] = []
  const stack: { depth: number; node: AstNode }[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const depth = line.length - line.trimStart().length
    const body = line.trim().replace(/ \(children [0-9]+\)$/, '')
    const space = body.indexOf(' ')
    const node: AstNode = { kind: space < 0 ? body : body.slice(0, space), detail: space < 0 ? '' : body.slice(space + 1).trim(), children: [] }
    while (stack.length > 0 && stack[stack.length - 1].depth >= depth) stack.pop()
    if (stack.length === 0) roots.push(node)
    else stack[stack.length - 1].node.children.push(node)
    stack.push({ depth, node })
  }
  return roots
}

/** What the tree may contain: functions by the policy, tables of one database only. */
export interface AstPolicy {
  database: string
  functions: FunctionPolicy
}

const IN_FUNCTIONS = new Set(['in', 'notIn', 'globalIn', 'globalNotIn', 'nullIn', 'notNullIn', 'globalNullIn', 'globalNotNullIn'])

/** The name a node's detail starts with: "samples (alias s)" -> "samples". */
function nameOf(detail: string): string {
  return detail.replace(/ \(alias .*\)$/, '').trim()
}

/**
 * A table named in the statement: unqualified names resolve to the served database (the
 * session's current one) or a WITH clause; a qualified one must name the served database.
 * A name with a dot anywhere counts as qualified, so a quoted one-part name cannot pass
 * for another database's table.
 */
function checkTable(name: string, policy: AstPolicy): void {
  if (name === '') refuse('a table reference the guard cannot read', ACCESS_DENIED)
  const dot = name.indexOf('.')
  if (dot < 0) return
  const database = name.slice(0, dot)
  if (database !== policy.database) refuse(`only the tables of database ${policy.database} are served here, not ${name.slice(0, 60)} (system and information_schema tables are not)`, ACCESS_DENIED)
}

/** The statement kinds (root nodes) that may run; any other is refused. */
const STATEMENT_KINDS = new Set(['SelectWithUnionQuery', 'SelectIntersectExceptQuery', 'DescribeQuery', 'Explain', 'ExistsTableQuery', 'ShowCreateTableQuery', 'ShowTables'])

/** Throws SqlRefusedError unless every function, table function and table is allowed. */
export function checkAst(roots: readonly AstNode[], policy: AstPolicy): void {
  if (roots.length !== 1) refuse('the statement could not be read by the guard', ACCESS_DENIED)
  const root = roots[0]
  if (!STATEMENT_KINDS.has(root.kind)) refuse(`a ${root.kind.slice(0, 40)} statement is not allowed here`, ACCESS_DENIED)
  if (root.kind === 'ExistsTableQuery' || root.kind === 'ShowCreateTableQuery') {
    // "ExistsTableQuery system one": database and table as Identifier children.
    const parts = root.children.filter((c) => c.kind === 'Identifier').map((c) => nameOf(c.detail))
    if (parts.length === 2) checkTable(`${parts[0]}.${parts[1]}`, policy)
    else if (parts.length !== 1) refuse('the statement could not be read by the guard', ACCESS_DENIED)
    return
  }
  // SHOW TABLES FROM x names the database as a child; plain SHOW TABLES lists the served one.
  if (root.kind === 'ShowTables') {
    if (root.children.length > 0) refuse(`only the tables of database ${policy.database} are served here`, ACCESS_DENIED)
    return
  }
  const walk = (node: AstNode, inTableExpression: boolean): void => {
    switch (node.kind) {
      case 'TableIdentifier':
        checkTable(nameOf(node.detail), policy)
        return
      case 'Function': {
        const name = nameOf(node.detail)
        if (inTableExpression) {
          if (!ALLOWED_TABLE_FUNCTIONS.has(name)) refuse(`table function ${name.slice(0, 60)} is not allowed here (allowed: ${[...ALLOWED_TABLE_FUNCTIONS].join(', ')})`, READONLY)
        } else if (!policy.functions.allows(name)) {
          refuse(`function ${name.slice(0, 60)} is not allowed here: ad-hoc SQL may compute over the store's tables, not reach files, hosts or other tables`, FUNCTION_NOT_ALLOWED)
        }
        // `x IN db.t`: the right side of IN may name a table.
        if (IN_FUNCTIONS.has(name)) {
          const right = node.children[0]?.children[1]
          if (right?.kind === 'Identifier') checkTable(nameOf(right.detail), policy)
        }
        break
      }
    }
    // A table function's arguments are expressions again; a subquery starts a new statement.
    for (const child of node.children) walk(child, node.kind === 'TableExpression')
  }
  walk(root, root.kind === 'TableExpression')
}
