/**
 * `rules test` against `promtool test rules` (Prometheus 2.42) on kubernetes-mixin's own unit
 * tests in the repository (rules-test/testdata, rules rendered from kube-prometheus's manifest):
 * each file run by each tool in turn, whole processes (start-up included, as CI pays it),
 * wall time. The target: metrichouse within 2x promtool's total.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'
import { renderMixinFixture } from '../rules-test/mixin-fixture.js'
import { CLI_MAIN } from '../test/peers/metrichouse.js'
import { requireBinary } from '../test/peers/process.js'

const run = promisify(execFile)

export interface RulesTestBenchResult {
  runs: number
  files: { file: string; promtoolSeconds: number; metrichouseSeconds: number }[]
  promtoolTotalSeconds: number
  metrichouseTotalSeconds: number
  ratio: number
}

async function timed(cmd: string, args: string[]): Promise<number> {
  const started = performance.now()
  await run(cmd, args, { timeout: 600_000 })
  return (performance.now() - started) / 1000
}

/** Median of `runs` alternating runs per file and tool. */
export async function benchRulesTest(opts: { runs?: number; log?: (line: string) => void } = {}): Promise<RulesTestBenchResult> {
  const runs = opts.runs ?? 3
  const promtool = requireBinary('promtool', 'prometheus')
  const dir = mkdtempSync(join(tmpdir(), 'metrichouse-bench-rules-test-'))
  try {
    const files = []
    for (const file of renderMixinFixture(dir)) {
      const p: number[] = []
      const m: number[] = []
      for (let i = 0; i < runs; i++) {
        p.push(await timed(promtool, ['test', 'rules', file]))
        m.push(await timed(process.execPath, [CLI_MAIN, 'rules', 'test', file]))
      }
      const row = { file: basename(file), promtoolSeconds: median(p), metrichouseSeconds: median(m) }
      opts.log?.(`rules-test: ${row.file}: promtool ${row.promtoolSeconds.toFixed(2)} s, metrichouse ${row.metrichouseSeconds.toFixed(2)} s`)
      files.push(row)
    }
    const promtoolTotalSeconds = files.reduce((s, f) => s + f.promtoolSeconds, 0)
    const metrichouseTotalSeconds = files.reduce((s, f) => s + f.metrichouseSeconds, 0)
    return { runs, files, promtoolTotalSeconds, metrichouseTotalSeconds, ratio: metrichouseTotalSeconds / promtoolTotalSeconds }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

export function formatRulesTestBench(r: RulesTestBenchResult): string {
  return [
    `kubernetes-mixin unit tests, median of ${r.runs} runs each, whole processes:`,
    '',
    '| file | promtool 2.42 s | metrichouse s | ratio |',
    '|---|---|---|---|',
    ...r.files.map((f) => `| ${f.file} | ${f.promtoolSeconds.toFixed(2)} | ${f.metrichouseSeconds.toFixed(2)} | ${(f.metrichouseSeconds / f.promtoolSeconds).toFixed(2)} |`),
    `| total | ${r.promtoolTotalSeconds.toFixed(2)} | ${r.metrichouseTotalSeconds.toFixed(2)} | ${r.ratio.toFixed(2)} |`,
  ].join('\n')
}
