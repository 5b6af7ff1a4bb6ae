/**
 * Runs the rollup refreshes now instead of waiting for their schedule: for tests, the
 * benchmark and operators (after a large backfill). Each refresh computes at most
 * `maxHoursPerRefresh` pending hours; `rounds` repeats it (stopping early once a round
 * writes nothing). An hour that received samples in the last minute stays pending (an
 * insert may not have been visible yet), so rounds do not run until nothing is pending.
 */
import type { ClickHouseClient } from '@clickhouse/client'
import { quoteIdentifier } from '../store/connection.js'
import { ROLLUP_VIEWS } from './schema.js'

export class RollupRefreshError extends Error {
  override name = 'RollupRefreshError'
}

interface RefreshState {
  view: string
  written_rows: string | number | null
  exception: string
}

/** Returns the rows written per view over all rounds. */
export async function refreshRollupsNow(client: ClickHouseClient, rounds = 1): Promise<Record<string, number>> {
  const written: Record<string, number> = Object.fromEntries(ROLLUP_VIEWS.map((v) => [v, 0]))
  for (let round = 0; round < rounds; round++) {
    let wroteAny = false
    for (const view of ROLLUP_VIEWS) {
      await client.command({ query: `SYSTEM REFRESH VIEW ${quoteIdentifier(view)}` })
      await client.command({ query: `SYSTEM WAIT VIEW ${quoteIdentifier(view)}` })
      const rs = await client.query({
        query: `SELECT view, written_rows, exception FROM system.view_refreshes WHERE database = currentDatabase() AND view = {view:String}`,
        query_params: { view },
        format: 'JSONEachRow',
      })
      const [state] = await rs.json<RefreshState>()
      if (!state) throw new RollupRefreshError(`refreshable view ${view} does not exist: run migrate`)
      if (state.exception) throw new RollupRefreshError(`refresh of ${view} failed: ${state.exception.slice(0, 500)}`)
      const rows = Number(state.written_rows ?? 0)
      written[view] = (written[view] ?? 0) + rows
      if (rows > 0) wroteAny = true
    }
    if (!wroteAny) break
  }
  return written
}
