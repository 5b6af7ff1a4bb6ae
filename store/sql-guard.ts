/**
 * What SQL sent over HTTP may do, beyond what the connection's readonly level forbids.
 * ClickHouse's own parser decides the statement's shape, so no hand-written SQL parser is
 * trusted here. Two passes, each over what the parser produced:
 * 1. on the statement as `formatQuerySingleLine` normalised it (the request's text passed
 *    as a bound parameter): exactly one statement (the parser refuses multi-statements), of
 *    an allowed kind, and no INTO OUTFILE, which the embedded engine writes to the local
 *    disk even in readonly mode (measured with chDB 3.4.0);
 * 2. on the tree `EXPLAIN AST` prints for that normalised statement (parsing only, nothing
 *    runs): the statement kind, every function, table function, table engine and table.
 * Readonly mode alone lets the scalar `file()` and `DESCRIBE file(...)` / `DESCRIBE url(...)`
 * read files and reach hosts (measured), and the engine's own fences do not hold embedded
 * (sql-function-policy.ts), so these passes are what keep a request inside the store.
 *
 * Two policies: {@link adHocReadPolicy} for `/clickhouse/` of `serve` (the store's tables,
 * read only), {@link storeClientPolicy} for the `store` role's internal clients (read-write
 * DDL and inserts, as `migrate` and the ingesters send, but nothing outside the engine).
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

// ClickHouse's codes for the refusals (ErrorCodes.cpp), so clients see what a server says.
const READONLY = [164, 'READONLY'] as const
const ACCESS_DENIED = [497, 'ACCESS_DENIED'] as const
const FUNCTION_NOT_ALLOWED = [446, 'FUNCTION_NOT_ALLOWED'] as const

function refuse(message: string, [code, codeName]: readonly [number, string]): never {
  throw new SqlRefusedError(message, code, codeName)
}

/** What a statement may be and name; see the two policies below. */
export interface GuardPolicy {
  /** First words a normalised statement may start with (`(` for a parenthesised SELECT). */
  firstWords: ReadonlySet<string>
  /** For a first word listed here, the second words allowed after it (SHOW TABLES, SYSTEM REFRESH). */
  secondWords: ReadonlyMap<string, ReadonlySet<string>>
  /** Statement kinds (the root node of `EXPLAIN AST`) that may run. */
  statements: ReadonlySet<string>
  /** Qualified table names must name this database; undefined: any database of the engine. */
  database?: string
  /** Whether a function the parser names may be called. */
  allowsFunction(name: string): boolean
}

const READ_FIRST_WORDS = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN', 'EXISTS', '('])
const READ_STATEMENTS = new Set(['SelectWithUnionQuery', 'SelectIntersectExceptQuery', 'DescribeQuery', 'Explain', 'ExistsTableQuery', 'ShowCreateTableQuery', 'ShowTables'])

/**
 * `/clickhouse/` of `serve`: reading statements over the served database's tables; SHOW
 * DATABASES, SETTINGS, PROCESSLIST, USERS, ... describe the engine, not the store.
 */
export function adHocReadPolicy(database: string, functions: FunctionPolicy): GuardPolicy {
  return {
    firstWords: READ_FIRST_WORDS,
    secondWords: new Map([['SHOW', new Set(['TABLES', 'CREATE'])]]),
    statements: READ_STATEMENTS,
    database,
    allowsFunction: (name) => functions.allows(name),
  }
}

/**
 * The `store` role's internal clients (ingesters, `query`, `migrate`, tests): reads, inserts
 * into tables, and the DDL `migrate` sends (tables, views, ALTER, DROP, RENAME, TRUNCATE,
 * OPTIMIZE, SYSTEM REFRESH / WAIT / START / STOP VIEW), on any database of the engine (the
 * system tables included, as `migrate` reads them). Refused: BACKUP, RESTORE, ATTACH,
 * dictionaries, SQL functions, SET / USE (they would outlive the request on the shared
 * session), SYSTEM commands other than the views', INSERT INTO FUNCTION, table engines that
 * reach outside the data directory, and every catalogue function the allowlist refuses.
 * Engine and codec names (MergeTree, CODEC, ZSTD) are not catalogue functions and pass.
 */
export function storeClientPolicy(functions: FunctionPolicy): GuardPolicy {
  return {
    firstWords: new Set([...READ_FIRST_WORDS, 'INSERT', 'CREATE', 'ALTER', 'DROP', 'RENAME', 'EXCHANGE', 'TRUNCATE', 'OPTIMIZE', 'SYSTEM']),
    secondWords: new Map([
      ['SHOW', new Set(['TABLES', 'CREATE', 'DATABASES', 'COLUMNS'])],
      ['SYSTEM', new Set(['REFRESH', 'WAIT', 'START', 'STOP'])],
      ['CREATE', new Set(['TABLE', 'VIEW', 'MATERIALIZED', 'DATABASE', 'OR', 'TEMPORARY'])],
    ]),
    statements: new Set([...READ_STATEMENTS, 'InsertQuery', 'CreateQuery', 'AlterQuery', 'DropQuery', 'Rename', 'TruncateQuery', 'OptimizeQuery', 'SYSTEM query']),
    allowsFunction: (name) => functions.allowsIfKnown(name),
  }
}

/** Table engines a store client may create: data that stays in the data directory. */
const ALLOWED_ENGINES = /^(Replicated)?(Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing|Coalescing)?MergeTree$|^(Memory|Null|Log|TinyLog|StripeLog)$/

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

/** Throws SqlRefusedError unless the normalised statement starts as the policy allows. */
export function checkNormalisedStatement(normalised: string, policy: GuardPolicy): void {
  const words = unquotedWords(normalised)
  if (words.length === 0) throw new SqlRefusedError('empty query', 62, 'SYNTAX_ERROR')
  if (!policy.firstWords.has(words[0])) refuse(`only ${[...policy.firstWords].filter((w) => w !== '(').join(', ')} statements are allowed here, not ${words[0].slice(0, 30)}`, READONLY)
  const second = policy.secondWords.get(words[0])
  if (second && !second.has(words[1] ?? '')) refuse(`${words[0]} ${(words[1] ?? '').slice(0, 30)} is not allowed here (only ${[...second].map((w) => `${words[0]} ${w}`).join(', ')})`, ACCESS_DENIED)
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

/** Node kinds whose name has a space in it; the rest end at the first space. */
const SPACED_KINDS = ['Storage definition', 'Columns definition', 'Dictionary definition', 'SYSTEM query', 'SHOW USERS query']

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
    const spaced = SPACED_KINDS.find((k) => body === k || body.startsWith(k + ' '))
    const space = spaced !== undefined ? spaced.length : body.indexOf(' ')
    const node: AstNode = { kind: space < 0 ? body : body.slice(0, space), detail: space < 0 ? '' : body.slice(space + 1).trim(), children: [] }
    while (stack.length > 0 && stack[stack.length - 1].depth >= depth) stack.pop()
    if (stack.length === 0) roots.push(node)
    else stack[stack.length - 1].node.children.push(node)
    stack.push({ depth, node })
  }
  return roots
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
function checkTable(name: string, policy: GuardPolicy): void {
  if (name === '') refuse('a table reference the guard cannot read', ACCESS_DENIED)
  if (policy.database === undefined) return
  const dot = name.indexOf('.')
  if (dot < 0) return
  if (name.slice(0, dot) !== policy.database) refuse(`only the tables of database ${policy.database} are served here, not ${name.slice(0, 60)} (system and information_schema tables are not)`, ACCESS_DENIED)
}

function checkTableFunction(name: string): void {
  if (!ALLOWED_TABLE_FUNCTIONS.has(name)) refuse(`table function ${name.slice(0, 60)} is not allowed here (allowed: ${[...ALLOWED_TABLE_FUNCTIONS].join(', ')})`, READONLY)
}

/** Throws SqlRefusedError unless the statement kind, its functions, engines and tables are allowed. */
export function checkAst(roots: readonly AstNode[], policy: GuardPolicy): void {
  if (roots.length !== 1) refuse('the statement could not be read by the guard', ACCESS_DENIED)
  const root = roots[0]
  if (!policy.statements.has(root.kind)) refuse(`a ${root.kind.slice(0, 40)} statement is not allowed here`, ACCESS_DENIED)
  if (root.kind === 'ExistsTableQuery' || root.kind === 'ShowCreateTableQuery') {
    // "ExistsTableQuery system one": database and table as Identifier children.
    const parts = root.children.filter((c) => c.kind === 'Identifier').map((c) => nameOf(c.detail))
    if (parts.length === 2) checkTable(`${parts[0]}.${parts[1]}`, policy)
    else if (parts.length !== 1) refuse('the statement could not be read by the guard', ACCESS_DENIED)
    return
  }
  // SHOW TABLES FROM x names the database as a child; plain SHOW TABLES lists the served one.
  if (root.kind === 'ShowTables') {
    if (root.children.length > 0 && policy.database !== undefined) refuse(`only the tables of database ${policy.database} are served here`, ACCESS_DENIED)
    return
  }
  // INSERT INTO FUNCTION f(...) and CREATE TABLE t AS f(...) name a table function directly.
  if (root.kind === 'InsertQuery' || root.kind === 'CreateQuery') {
    for (const child of root.children) if (child.kind === 'Function') checkTableFunction(nameOf(child.detail))
  }
  const walk = (node: AstNode, parent: AstNode | undefined): void => {
    switch (node.kind) {
      case 'TableIdentifier':
        checkTable(nameOf(node.detail), policy)
        return
      case 'Dictionary definition':
        refuse('dictionaries are not allowed here', ACCESS_DENIED)
        break
      case 'Storage definition': {
        const engine = node.children[0]
        if (engine?.kind === 'Function' && !ALLOWED_ENGINES.test(nameOf(engine.detail))) refuse(`table engine ${nameOf(engine.detail).slice(0, 60)} is not allowed here (MergeTree family, Memory, Null, Log)`, ACCESS_DENIED)
        break
      }
      case 'Function': {
        const name = nameOf(node.detail)
        if (parent?.kind === 'TableExpression' || (parent === root && (root.kind === 'InsertQuery' || root.kind === 'CreateQuery'))) checkTableFunction(name)
        else if (parent?.kind === 'Storage definition' && parent.children[0] === node) {
          // the engine, checked above
        } else if (!policy.allowsFunction(name)) {
          refuse(`function ${name.slice(0, 60)} is not allowed here: SQL may compute over the store's tables, not reach files, hosts or other tables`, FUNCTION_NOT_ALLOWED)
        }
        // `x IN db.t`: the right side of IN may name a table.
        if (IN_FUNCTIONS.has(name)) {
          const right = node.children[0]?.children[1]
          if (right?.kind === 'Identifier') checkTable(nameOf(right.detail), policy)
        }
        break
      }
    }
    for (const child of node.children) walk(child, node)
  }
  walk(root, undefined)
}

/** What the guard asks the engine: its own parse of a request, printed two ways. */
export interface StatementParser {
  /** `formatQuerySingleLine` of the text, which is passed to it as a bound parameter. */
  normalise(sql: string, signal?: AbortSignal): Promise<string>
  /** The output of `EXPLAIN AST` for a statement `normalise` returned. */
  explainAst(normalised: string, queryParams: Record<string, string>, signal?: AbortSignal): Promise<string>
}

/**
 * Both passes; returns the normalised statement, which is what the caller should run where
 * it can (what was checked is what runs). `EXPLAIN AST` is the one statement that carries
 * request text, and only as the engine's own rendering of a single statement that passed
 * the first pass; it parses and runs nothing.
 */
export async function guardStatement(parser: StatementParser, sql: string, queryParams: Record<string, string>, policy: GuardPolicy, signal?: AbortSignal): Promise<string> {
  const normalised = await parser.normalise(sql, signal)
  checkNormalisedStatement(normalised, policy)
  checkAst(parseExplainAst(await parser.explainAst(normalised, queryParams, signal)), policy)
  return normalised
}
