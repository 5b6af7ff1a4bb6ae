/** Starts the ruler for `serve` and the `ruler` role; a broken rule file refuses the start in one sentence. */
import { RuleFilesError, startRuler, type RunningRuler, type StartRulerOptions } from '../ruler/start.js'
import { StartupError } from './startup-error.js'

export async function startRulerOrRefuse(opts: StartRulerOptions): Promise<RunningRuler> {
  try {
    return await startRuler(opts)
  } catch (err) {
    if (err instanceof RuleFilesError) throw new StartupError(`${err.message} (fix them, check with "metrichouse rules lint", and start again)`)
    throw err
  }
}
