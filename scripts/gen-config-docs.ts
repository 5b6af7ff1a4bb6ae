import { writeFileSync } from 'node:fs'
import { renderConfigurationDoc } from '../config/config-docs.js'

writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderConfigurationDoc())
