/**
 * What ad-hoc SQL may do beyond what `readonly = 1` already forbids. ClickHouse's own
 * parser (formatQuerySingleLine, the user's text passed as a bound parameter) decides
 * the statement's shape, so no hand-written SQL parser is trusted here:
 * - exactly one statement (the parser refuses multi-statements);
 * - a reading statement (SELECT / WITH / SHOW / DESCRIBE / EXPLAIN / EXISTS);
 * - no INTO OUTFILE, which the embedded engine would otherwise write to the local disk
 *   even in readonly mode (measured with chDB 26.7).
 * Table functions that reach files, URLs or other servers are refused by readonly itself.
 */
import { BadRequestError } from '../errors/http-errors.js'

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
  if (!READING_STATEMENTS.has(words[0])) throw new SqlRefusedError(`only reading statements are allowed here (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, EXISTS), not ${words[0].slice(0, 30)}`, 164, 'READONLY')
  for (let k = 0; k + 1 < words.length; k++) {
    if (words[k] === 'INTO' && words[k + 1] === 'OUTFILE') throw new SqlRefusedError('INTO OUTFILE is not allowed', 358, 'INTO_OUTFILE_NOT_ALLOWED')
  }
}
