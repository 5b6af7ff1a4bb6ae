/**
 * The package as someone else gets it: `npm pack` of this checkout (its built dist/), installed
 * into an empty directory: `npx metrichouse` runs, and `metrichouse serve` started from there answers /-/ready,
 * the UI and uPlot. Slow (an npm install of chDB and the rest; about a minute, from the
 * local npm cache where it can), but it is the only test that sees the `files` list, the
 * `bin` entry and the runtime dependencies as a user does. Needs `npm run build` first.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../peers/free-port.js'
import { CLI_MAIN, REPO_ROOT } from '../peers/metrichouse.js'
import { spawnPeer, waitForHttp, type PeerProcess } from '../peers/process.js'
import { makeTempDir, type TempDir } from '../peers/temp-dir.js'

const run = promisify(execFile)
let root: TempDir
let app: string
let tarball: string
let server: PeerProcess | undefined

beforeAll(async () => {
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} does not exist: run \`npm run build\` first`)
  root = await makeTempDir('pack')
  // --ignore-scripts: dist/ is built already; `prepare` would compile it again.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root.path], { cwd: REPO_ROOT, timeout: 120_000 })
  tarball = join(root.path, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename)
  app = join(root.path, 'app')
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'try-metrichouse', version: '1.0.0', private: true }))
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app, timeout: 540_000 })
}, 600_000)

afterAll(async () => {
  if (server?.running) await server.stop(15_000)
  await root?.remove()
})

describe('the npm package', () => {
  it('ships dist/, the UI and the schema, and no tests, sources or build state', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball])
    const files = stdout.split('\n').filter(Boolean)
    for (const wanted of ['package/dist/cli/main.js', 'package/ui/static/index.html', 'package/config/metrichouse.schema.json', 'package/dist/config/metrichouse.schema.json', 'package/scripts/build-if-stale.mjs']) expect(files).toContain(wanted)
    expect(files.filter((f) => /\.test\.(js|ts)$|\.ts$|\.tsbuildinfo$|\.map$/.test(f) && !f.endsWith('.d.ts'))).toEqual([])
  })

  it('runs `npx metrichouse` from the installed bin', async () => {
    const { stdout } = await run('npx', ['--no-install', 'metrichouse', '--version'], { cwd: app, timeout: 60_000 })
    expect(stdout.trim()).toMatch(/^metrichouse \d+\.\d+\.\d+/)
  }, 60_000)

  it('starts `metrichouse serve` from an empty directory, with the UI', async () => {
    const port = await freePort()
    // The bin npx runs, started directly: npx does not pass SIGTERM on to it.
    server = spawnPeer({
      name: 'metrichouse serve (installed)',
      command: join(app, 'node_modules', '.bin', 'metrichouse'),
      args: ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', join(root.path, 'data')],
      logFile: join(root.path, 'serve.log'),
      maxLifetimeMs: 180_000,
      cwd: app,
    })
    const base = `http://127.0.0.1:${port}`
    await waitForHttp(`${base}/-/ready`, 90_000, { peer: server })
    const page = await fetch(`${base}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<title>metrichouse</title>')
    expect((await fetch(`${base}/ui/vendor/uPlot.esm.js`)).status).toBe(200)
    await server.stop(30_000)
    await expect(fetch(`${base}/-/healthy`)).rejects.toThrow()
  }, 180_000)
})
