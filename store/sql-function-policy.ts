/**
 * Which functions ad-hoc SQL may call, decided by an allowlist.
 *
 * Measured on the embedded engine (chDB 3.4.0 = ClickHouse 26.7): `readonly = 1` does not
 * stop the scalar `file('/etc/shadow')`, nor `DESCRIBE file(...)` / `DESCRIBE url(...)`,
 * which open the file or connect to the host to infer a schema and echo what they find.
 * The engine's own fences do not hold there either: clickhouse-local resolves `file()`
 * paths outside `user_files_path`, and `remote_url_allow_hosts` from a config file is not
 * consulted. So the gateway decides, on ClickHouse's own parse of the statement, what may run.
 *
 * Scalar and aggregate functions are allowed by the category ClickHouse files them under in
 * `system.functions` (pure computation over values: arithmetic, strings, dates, arrays,
 * hashes, aggregates, ...), plus a short list of named ones from the catch-all "Other"
 * category that compute over values only. Everything else is refused: files, the host
 * (hostName, filesystem*, getServerSetting, ...), other tables by name (joinGet,
 * hasColumnInTable, dict*), models and AI functions that call out to the network, sleep,
 * introspection. A function ClickHouse adds in a later release is refused until its
 * category or name is listed here.
 *
 * Table functions are allowed by name: only those that generate rows from their arguments.
 */

/** A row of `system.functions`, as {@link FUNCTION_CATALOGUE_SQL} selects it. */
export interface FunctionCatalogueRow {
  name: string
  categories: string
  is_aggregate: number
  case_insensitive: number
  alias_to: string
}

/** The one statement that reads the engine's function catalogue (fixed text, no input). */
export const FUNCTION_CATALOGUE_SQL = 'SELECT name, categories, is_aggregate, case_insensitive, alias_to FROM system.functions'
/** The one statement that reads the aggregate-function combinators (If, State, Merge, ...). */
export const COMBINATOR_CATALOGUE_SQL = 'SELECT name FROM system.aggregate_function_combinators'

/** Categories of `system.functions` whose members compute over their arguments only. */
const ALLOWED_CATEGORIES = new Set([
  'Aggregate Functions',
  'Arithmetic',
  'Arrays',
  'Bit',
  'Bitmap',
  'Comparison',
  'Conditional',
  'Dates and Times',
  'Distance',
  'Encoding',
  'Encryption',
  'Financial',
  'Geo',
  'Geo Polygon',
  'Hash',
  'IP Address',
  'JSON',
  'Logical',
  'Map',
  'Mathematical',
  'Null',
  'NumericIndexedVector',
  'Random Number',
  'Rounding',
  'String',
  'String Replacement',
  'String Search',
  'String Splitting',
  'Time Series',
  'Time Window',
  'Tuple',
  'Type Conversion',
  'URL',
  'UUID',
])

/**
 * Members of the catch-all "Other" category that compute over values only, and `_CAST`
 * ("Internal"), which a bound `{name:Type}` parameter becomes in the parse tree.
 */
const ALLOWED_BY_NAME = new Set([
  '_CAST',
  'bar',
  'byteSize',
  'countDigits',
  'currentDatabase',
  'defaultValueOfArgumentType',
  'defaultValueOfTypeName',
  'dumpColumnStructure',
  'finalizeAggregation',
  'formatQuery',
  'formatQueryOrNull',
  'formatQuerySingleLine',
  'formatQuerySingleLineOrNull',
  'formatReadableDecimalSize',
  'formatReadableQuantity',
  'formatReadableSize',
  'formatReadableTimeDelta',
  'getSetting',
  'getSettingOrDefault',
  'getSizeOfEnumType',
  'getSubcolumn',
  'identity',
  'ignore',
  'initializeAggregation',
  'isConstant',
  'isDecimalOverflow',
  'lowCardinalityIndices',
  'lowCardinalityKeys',
  'materialize',
  'neighbor',
  'parseReadableSize',
  'parseReadableSizeOrNull',
  'parseReadableSizeOrZero',
  'parseTimeDelta',
  'rowNumberInAllBlocks',
  'rowNumberInBlock',
  'runningAccumulate',
  'runningDifference',
  'runningDifferenceStartingWithFirstValue',
  'throwIf',
  'toColumnTypeName',
  'toTypeName',
  'transform',
  'variantElement',
  'variantType',
  'version',
  'visibleWidth',
])

/** Names the parser produces that are syntax, not catalogue entries (`x -> x + 1`). */
const SYNTAX_FUNCTIONS = new Set(['lambda'])

/** Table functions that produce rows from their arguments and touch nothing else. */
export const ALLOWED_TABLE_FUNCTIONS: ReadonlySet<string> = new Set(['numbers', 'numbers_mt', 'zeros', 'zeros_mt', 'generate_series', 'generateSeries', 'values', 'view', 'null'])

/** The verdict on every function the engine knows, built once from its catalogue. */
export class FunctionPolicy {
  private readonly exact = new Map<string, boolean>()
  private readonly folded = new Map<string, boolean>()
  private readonly aggregates = new Set<string>()
  private readonly combinators: string[]

  constructor(rows: readonly FunctionCatalogueRow[], combinators: readonly string[]) {
    // Longest first, so that "MergeState" is not read as "...Merge" + "State" wrongly first.
    this.combinators = [...combinators].sort((a, b) => b.length - a.length)
    const byName = new Map(rows.map((r) => [r.name, r]))
    for (const row of rows) {
      const target = row.alias_to !== '' ? (byName.get(row.alias_to) ?? row) : row
      const allowed = target.categories.split(',').some((c) => ALLOWED_CATEGORIES.has(c.trim())) || ALLOWED_BY_NAME.has(target.name)
      this.exact.set(row.name, allowed)
      if (row.case_insensitive) this.folded.set(row.name.toLowerCase(), allowed)
      if (target.is_aggregate && allowed) this.aggregates.add(row.name)
    }
  }

  /** Whether `name`, as the parser spelled it, may be called. */
  allows(name: string): boolean {
    if (SYNTAX_FUNCTIONS.has(name)) return true
    const direct = this.exact.get(name) ?? this.folded.get(name.toLowerCase())
    if (direct !== undefined) return direct
    return this.isCombinedAggregate(name)
  }

  /**
   * Whether `name` may be called where names that are not functions also appear (DDL:
   * engines, codecs): a catalogue function needs its verdict; any other name passes, since
   * the engine can only call what its catalogue lists.
   */
  allowsIfKnown(name: string): boolean {
    const direct = this.exact.get(name) ?? this.folded.get(name.toLowerCase())
    return direct ?? true
  }

  /** `sumIf`, `quantileStateMerge`, `uniqArrayIf`: an allowed aggregate behind combinators. */
  private isCombinedAggregate(name: string): boolean {
    let base = name
    for (let guard = 0; guard < 8; guard++) {
      const suffix = this.combinators.find((c) => base.length > c.length && base.endsWith(c))
      if (suffix === undefined) return false
      base = base.slice(0, -suffix.length)
      if (this.aggregates.has(base)) return true
    }
    return false
  }
}
