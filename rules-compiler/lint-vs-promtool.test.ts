/**
 * Differential test: `metrichouse rules lint` against Debian's `promtool check rules` (2.42).
 * On every file promtool accepts, lint finds no error; on every file it rejects, lint reports
 * one. The cases are in promtool-cases.ts; the public rule sets are the kube-prometheus
 * PrometheusRule manifests in testdata/kube-prometheus (Apache-2.0, see its README).
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { parseAllDocuments, stringify } from 'yaml'
import { requireBinary } from '../test/peers/process.js'
import { lintFiles } from './lint.js'
import { PROMTOOL_CASES } from './promtool-cases.js'

const run = promisify(execFile)
const promtool = requireBinary('promtool', 'prometheus')
const dir = mkdtempSync(join(tmpdir(), 'metrichouse-lint-promtool-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function promtoolAccepts(file: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(promtool, ['check', 'rules', file], { timeout: 20_000 })
    return { ok: true, output: stdout + stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    if (typeof e.code !== 'number') throw err
    return { ok: false, output: (e.stdout ?? '') + (e.stderr ?? '') }
  }
}

describe('lint agrees with promtool check rules', () => {
  it.each(PROMTOOL_CASES.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    const file = join(dir, `case-${i}.yml`)
    writeFileSync(file, c.yaml)
    const verdict = await promtoolAccepts(file)
    expect(verdict.ok ? 'accept' : 'reject', `promtool said:\n${verdict.output}`).toBe(c.promtool)
    const errors = lintFiles([file]).filter((p) => p.severity === 'error')
    expect(errors.length > 0 ? 'error' : 'clean', JSON.stringify(errors, null, 1)).toBe(c.lint)
  })
})

describe('public rule sets (kube-prometheus mixins, as PrometheusRule manifests)', () => {
  const publicDir = new URL('./testdata/kube-prometheus/', import.meta.url).pathname
  const manifests = readdirSync(publicDir).filter((f) => f.endsWith('.yaml'))

  it('holds the manifests', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(8)
  })

  it.each(manifests)('%s: promtool accepts its rules and lint finds no error', async (name) => {
    const source = join(publicDir, name)
    // promtool reads plain rule files only: hand it the manifest's spec.
    const plain = join(dir, `plain-${name}`)
    const spec = parseAllDocuments(readFileSync(source, 'utf8')).map((d) => (d.toJS() as { spec: unknown }).spec)
    expect(spec).toHaveLength(1)
    writeFileSync(plain, stringify(spec[0]))
    const verdict = await promtoolAccepts(plain)
    expect(verdict.ok, verdict.output).toBe(true)
    expect(lintFiles([source]).filter((p) => p.severity === 'error')).toEqual([])
    expect(lintFiles([plain]).filter((p) => p.severity === 'error')).toEqual([])
  })
})

describe('the shipped example rules', () => {
  const examples = new URL('../examples/rules/', import.meta.url).pathname
  const files = readdirSync(examples).filter((f) => /\.ya?ml$/.test(f) && !f.includes('.test.'))

  it.each(files)('%s: promtool accepts it and lint finds nothing, not even a warning', async (name) => {
    const file = join(examples, name)
    const verdict = await promtoolAccepts(file)
    expect(verdict.ok, verdict.output).toBe(true)
    expect(lintFiles([file])).toEqual([])
  })
})

