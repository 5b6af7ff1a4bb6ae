/**
 * Every file in examples/ is loaded by the program it is written for: examples/prometheus.yml
 * by `promtool check config` (also with each commented authentication block switched on),
 * examples/vmagent-scrape.yml by `vmagent -promscrape.config.dryRun`, and every vmagent
 * command in examples/vmagent.md is run by vmagent itself.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../peers/free-port.js'
import { REPO_ROOT } from '../peers/metrichouse.js'
import { requireBinary, runCommand, spawnPeer, waitForHttp } from '../peers/process.js'
import { makeTempDir, type TempDir } from '../peers/temp-dir.js'

const EXAMPLES = join(REPO_ROOT, 'examples')
let tmp: TempDir

beforeAll(async () => {
  tmp = await makeTempDir('examples')
})
afterAll(async () => {
  await tmp.remove()
})

/** Removes the `# ` in front of the commented YAML block that starts with `# KEY:`. */
export function uncommentBlock(text: string, key: string): string {
  const lines = text.split('\n')
  const start = lines.findIndex((line) => new RegExp(`^(\\s*)# ${key}:`).test(line))
  if (start < 0) throw new Error(`no commented block "${key}:"`)
  const indent = /^(\s*)#/.exec(lines[start])?.[1] ?? ''
  for (let i = start; i < lines.length && lines[i].startsWith(`${indent}# `); i++) {
    if (i > start && !lines[i].startsWith(`${indent}#   `)) break
    lines[i] = indent + lines[i].slice(indent.length + 2)
  }
  return lines.join('\n')
}

async function promtoolCheck(text: string, name: string) {
  const promtool = requireBinary('promtool', 'prometheus')
  const file = join(tmp.path, name)
  await writeFile(file, text.replaceAll('/etc/prometheus/', `${tmp.path}/`))
  await writeFile(join(tmp.path, 'metrichouse.token'), 'token\n')
  await writeFile(join(tmp.path, 'metrichouse.password'), 'password\n')
  return runCommand(promtool, ['check', 'config', file], 30_000)
}

describe('examples/prometheus.yml', () => {
  it('passes promtool check config', async () => {
    const result = await promtoolCheck(await readFile(join(EXAMPLES, 'prometheus.yml'), 'utf8'), 'prometheus.yml')
    expect(result.code, result.stdout + result.stderr).toBe(0)
    expect(result.stdout).toContain('SUCCESS')
  }, 30_000)

  const blocks = ['authorization', 'basic_auth']
  for (const block of blocks) {
    it(`passes promtool check config with the ${block} block switched on`, async () => {
      const text = uncommentBlock(await readFile(join(EXAMPLES, 'prometheus.yml'), 'utf8'), block)
      expect(text).toMatch(new RegExp(`^ {4}${block}:`, 'm'))
      const result = await promtoolCheck(text, `prometheus-${block}.yml`)
      expect(result.code, result.stdout + result.stderr).toBe(0)
    }, 30_000)
  }

  it('is refused by promtool with both authentication blocks on (so the blocks are really read)', async () => {
    let text = await readFile(join(EXAMPLES, 'prometheus.yml'), 'utf8')
    for (const block of blocks) text = uncommentBlock(text, block)
    const result = await promtoolCheck(text, 'prometheus-both.yml')
    expect(result.code).not.toBe(0)
  }, 30_000)
})

/** The vmagent commands in the markdown's sh blocks, as argument lists (backslash continuations joined). */
export function vmagentCommands(markdown: string): string[][] {
  const commands: string[][] = []
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const joined = block[1].replace(/\\\n/g, ' ').trim()
    for (const line of joined.split('\n')) {
      const words = line.trim().split(/\s+/)
      if (words[0] === 'vmagent') commands.push(words.slice(1))
    }
  }
  return commands
}

/** Points the command's paths and ports at this test's temporary directory and free ports. */
async function localise(args: string[], remoteWritePort: number): Promise<{ args: string[]; port?: number }> {
  let port: number | undefined
  const out: string[] = []
  for (const arg of args) {
    const [flag, value] = arg.split(/=(.*)/s, 2)
    if (flag === '-httpListenAddr') {
      port = await freePort()
      out.push(`${flag}=127.0.0.1:${port}`)
    } else if (flag === '-promscrape.config') {
      out.push(`${flag}=${join(REPO_ROOT, value)}`)
    } else if (flag === '-remoteWrite.url') {
      // Never write into a metrichouse that happens to run on :9201 here.
      out.push(`${flag}=${value.replace(/:9201\//, `:${remoteWritePort}/`)}`)
    } else if (value?.startsWith('/var/lib/vmagent/') || value?.startsWith('/etc/vmagent/')) {
      const path = join(tmp.path, value.replace(/^\/(var\/lib|etc)\/vmagent\//, ''))
      if (value.startsWith('/etc/')) await writeFile(path, 'secret\n')
      out.push(`${flag}=${path}`)
    } else {
      out.push(arg)
    }
  }
  return { args: out, port }
}

describe('examples/vmagent.md and vmagent-scrape.yml', () => {
  it('vmagent-scrape.yml passes vmagent -promscrape.config.dryRun', async () => {
    const vmagent = requireBinary('vmagent', 'victoria-metrics')
    const result = await runCommand(vmagent, [`-promscrape.config=${join(EXAMPLES, 'vmagent-scrape.yml')}`, '-promscrape.config.dryRun'], 30_000)
    expect(result.code, result.stderr).toBe(0)
  }, 30_000)

  it('vmagent refuses a flag it does not know (so the checks below mean something)', async () => {
    const vmagent = requireBinary('vmagent', 'victoria-metrics')
    const result = await runCommand(vmagent, ['-remoteWrite.noSuchFlag=1', '-promscrape.config.dryRun'], 30_000)
    expect(result.code).not.toBe(0)
    expect(result.stdout + result.stderr).toContain('flag provided but not defined')
  }, 30_000)

  it('every vmagent command in vmagent.md is accepted: dry runs exit 0, the others start and serve /health', async () => {
    const vmagent = requireBinary('vmagent', 'victoria-metrics')
    const commands = vmagentCommands(await readFile(join(EXAMPLES, 'vmagent.md'), 'utf8'))
    expect(commands.length).toBeGreaterThanOrEqual(4)
    for (const [index, command] of commands.entries()) {
      const { args, port } = await localise(command, await freePort())
      if (args.includes('-promscrape.config.dryRun')) {
        const result = await runCommand(vmagent, args, 30_000)
        expect(result.code, `${args.join(' ')}\n${result.stderr}`).toBe(0)
        continue
      }
      expect(port, `command ${index} has no -httpListenAddr`).toBeDefined()
      const peer = spawnPeer({ name: `vmagent example ${index}`, command: vmagent, args, logFile: join(tmp.path, `vmagent-${index}.log`), maxLifetimeMs: 30_000, cwd: tmp.path })
      try {
        await waitForHttp(`http://127.0.0.1:${port}/health`, 15_000, { peer })
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
        expect(metrics).toContain('vmagent_remotewrite_queues')
        expect(peer.logTail(200)).not.toMatch(/\bfatal\b|panic|flag provided but not defined/i)
      } finally {
        await peer.stop(5_000)
      }
    }
  }, 90_000)
})
