/** The package's version, for --version and the UI (read where the build info reads it). */
import { buildInfo } from '../query/query-service.js'

export const VERSION = buildInfo().version
