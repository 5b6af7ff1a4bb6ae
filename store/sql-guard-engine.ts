/**
 * The guard's questions to a ClickHouse connection (embedded or server): its parse of a
 * request (sql-guard.ts) and its function catalogue (sql-function-policy.ts). Every
 * statement here is fixed text or the engine's own rendering of one parsed statement.
 */
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client'
import { COMBINATOR_CATALOGUE_SQL, FUNCTION_CATALOGUE_SQL, FunctionPolicy, type FunctionCatalogueRow } from './sql-function-policy.js'
import type { StatementParser } from './sql-guard.js'

/** A StatementParser on `client`; `settings` go with each statement (limits on a server). */
export function clientStatementParser(client: ClickHouseClient, settings: () => ClickHouseSettings = () => ({})): StatementParser {
  return {
    async normalise(sql, signal) {
      const rs = await client.query({ query: 'SELECT formatQuerySingleLine({q:String}) AS q', query_params: { q: sql }, format: 'JSONEachRow', clickhouse_settings: settings(), abort_signal: signal })
      const rows = await rs.json<{ q: string }>()
      return rows[0]?.q ?? ''
    },
    async explainAst(normalised, queryParams, signal) {
      // exec, not query: query() would append its own FORMAT clause after the statement's.
      const result = await client.exec({
        query: `EXPLAIN AST ${normalised}`,
        query_params: Object.keys(queryParams).length > 0 ? queryParams : undefined,
        clickhouse_settings: { ...settings(), default_format: 'TabSeparatedRaw' },
        abort_signal: signal,
      })
      const chunks: Buffer[] = []
      for await (const chunk of result.stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string))
      return Buffer.concat(chunks).toString('utf8')
    },
  }
}

/** The function allowlist from the engine's own catalogue. */
export async function loadFunctionPolicy(client: ClickHouseClient): Promise<FunctionPolicy> {
  const rows = await (await client.query({ query: FUNCTION_CATALOGUE_SQL, format: 'JSONEachRow' })).json<FunctionCatalogueRow>()
  const combinators = await (await client.query({ query: COMBINATOR_CATALOGUE_SQL, format: 'JSONEachRow' })).json<{ name: string }>()
  return new FunctionPolicy(rows, combinators.map((c) => c.name))
}
