#!/usr/bin/env node
// `npm start`'s prestart: compiles the TypeScript only when dist/ is missing or older than a
// source (a full tsc build takes about 15 s on 2 cores; a start with a fresh dist/ takes none).
// Plain JavaScript so that it needs no dev dependency when dist/ is fresh, as in an installed
// package, which ships dist/ and no sources.
import { execFileSync } from 'node:child_process'
import process from 'node:process'
import { existsSync, readFileSync, readdirSync, statSync, utimesSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const buildConfig = join(root, 'tsconfig.build.json')
const stamp = join(root, 'dist', '.tsbuildinfo')
const entry = join(root, 'dist', 'cli', 'main.js')

function newestSource() {
  if (!existsSync(buildConfig)) return 0
  const { include } = JSON.parse(readFileSync(buildConfig, 'utf8'))
  let newest = Math.max(statSync(buildConfig).mtimeMs, statSync(join(root, 'tsconfig.json')).mtimeMs)
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if ((e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) || e.name.endsWith('.json')) newest = Math.max(newest, statSync(p).mtimeMs)
    }
  }
  for (const folder of include) if (existsSync(join(root, folder))) walk(join(root, folder))
  return newest
}

const sources = newestSource()
// An installed package ships dist/ and no sources: nothing to build.
if (sources === 0 && existsSync(entry)) process.exit(0)
const built = existsSync(entry) && existsSync(stamp) ? statSync(stamp).mtimeMs : -1
if (built >= 0 && built >= sources) process.exit(0)
if (sources === 0) {
  process.stderr.write('metrichouse: dist/ is missing and there are no sources to build it from\n')
  process.exit(1)
}
let tsc
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
} catch {
  process.stderr.write('metrichouse: dist/ is missing or older than the sources and TypeScript is not installed: run `npm install` (with dev dependencies), then `npm start`\n')
  process.exit(1)
}
process.stderr.write(built < 0 ? 'metrichouse: building dist/ (first start)\n' : 'metrichouse: sources changed since the last build: rebuilding dist/\n')
execFileSync(process.execPath, [tsc, '-p', buildConfig], { cwd: root, stdio: 'inherit' })
// An incremental build that found nothing to emit leaves the stamp old: touch it.
const now = new Date()
utimesSync(stamp, now, now)
