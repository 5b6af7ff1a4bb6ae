import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { renderConfigurationDoc } from './config-docs.js'

describe('docs/configuration.md', () => {
  it('lists exactly the keys of the schema (regenerate with npm run docs:config)', () => {
    expect(readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8')).toBe(renderConfigurationDoc())
  })
})
