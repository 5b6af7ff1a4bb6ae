/**
 * The built-in UI as a person sees it, in Debian's headless chromium (driven by
 * playwright-core, no browser download) against a real `metrichouse serve`: the query page
 * draws a remote-written series, completes metric and label names, the status page shows the
 * alert its rule fired, the cardinality view renders, and every request the pages make is
 * answered 2xx. Screenshots go to .tmp/artifacts/ui/ (git-ignored) for a person to look at.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeWriteRequestV1 } from '../../proto/encode-v1.js'
import { createSnappyCodec } from '../../proto/snappy.js'
import { Metrichouse, REPO_ROOT } from '../peers/metrichouse.js'

// playwright-core (a dev dependency) is loaded by name at run time and typed here by the few
// calls this test makes, so that the type check does not depend on it being installed.
const PLAYWRIGHT = 'playwright-core'
interface Page {
  on(event: 'response', listener: (r: { url(): string; status(): number }) => void): void
  on(event: 'requestfailed', listener: (r: { url(): string }) => void): void
  on(event: 'pageerror', listener: (err: Error) => void): void
  goto(url: string): Promise<unknown>
  waitForSelector(selector: string, options: { timeout: number }): Promise<unknown>
  getAttribute(selector: string, name: string): Promise<string | null>
  textContent(selector: string): Promise<string | null>
  inputValue(selector: string): Promise<string>
  fill(selector: string, value: string): Promise<void>
  type(selector: string, text: string): Promise<void>
  keyboard: { press(key: string): Promise<void> }
  screenshot(options: { path: string; fullPage?: boolean }): Promise<unknown>
  $eval<R, A>(selector: string, fn: (el: Element, arg: A) => R, arg: A): Promise<R>
  $$eval<R>(selector: string, fn: (els: Element[]) => R): Promise<R>
}
interface BrowserContext {
  newPage(): Promise<Page>
  close(): Promise<void>
}
interface Chromium {
  launchPersistentContext(userDataDir: string, options: { executablePath: string; headless: boolean; args: string[]; viewport: { width: number; height: number } }): Promise<BrowserContext>
}

const CHROMIUM = '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
const ARTIFACTS = join(REPO_ROOT, '.tmp', 'artifacts', 'ui')
const SERIES_COLOUR = [0x2f, 0x6f, 0xdd] // the first colour of ui/static/query.js's palette

const dir = mkdtempSync(join(tmpdir(), 'mh-ui-'))
let server: Metrichouse
let context: BrowserContext
let page: Page
const answers: Array<{ url: string; status: number }> = []

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  const rules = join(dir, 'rules.yml')
  writeFileSync(rules, [
    'groups:',
    '  - name: ui-demo',
    '    interval: 1s',
    '    rules:',
    '      - alert: UiDemoHot',
    '        expr: ui_demo_temperature_celsius > 50',
    '        labels: { severity: page }',
    '',
  ].join('\n'))
  server = await Metrichouse.start({ extraArgs: ['--ruler-rule-files', rules, '--flush-interval', '100ms'] })
  const snappy = await createSnappyCodec()
  const now = Date.now()
  const body = snappy.compress(encodeWriteRequestV1(['a', 'b'].map((host, h) => ({
    labels: [
      { name: '__name__', value: 'ui_demo_temperature_celsius' },
      { name: 'host', value: host },
      { name: 'job', value: 'ui' },
    ],
    // Ten minutes every 10 s, ending now: host a runs hot (above the alert's 50).
    samples: Array.from({ length: 60 }, (_, i) => ({ timestampMs: now - (59 - i) * 10_000, value: (h === 0 ? 60 : 20) + Math.sin(i / 5) * 5 })),
  }))))
  const res = await fetch(server.writeUrl, { method: 'POST', body: Buffer.from(body), headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' } })
  expect(res.status).toBe(204)
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    const counted = (await (await fetch(`${server.url}/api/v1/query?query=count(ui_demo_temperature_celsius)`)).json()) as { data: { result: Array<{ value: [number, string] }> } }
    if (counted.data.result[0]?.value[1] === '2') break
    await new Promise((resolve) => setTimeout(resolve, 200))
  }

  const { chromium } = (await import(PLAYWRIGHT)) as { chromium: Chromium }
  context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } })
  page = await context.newPage()
  page.on('response', (r) => answers.push({ url: r.url(), status: r.status() }))
  page.on('requestfailed', (r) => answers.push({ url: r.url(), status: 0 }))
  page.on('pageerror', (err) => answers.push({ url: `pageerror: ${err.message}`, status: 0 }))
}, 120_000)

afterAll(async () => {
  await context?.close()
  await server?.dispose()
  rmSync(dir, { recursive: true, force: true })
})

async function colouredPixels(selector: string): Promise<number> {
  return page.$eval(selector, (canvas, rgb) => {
    const c = canvas as HTMLCanvasElement
    const pixels = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data
    let n = 0
    for (let i = 0; i < pixels.length; i += 4) if (Math.abs(pixels[i] - rgb[0]) < 40 && Math.abs(pixels[i + 1] - rgb[1]) < 40 && Math.abs(pixels[i + 2] - rgb[2]) < 40 && pixels[i + 3] > 100) n++
    return n
  }, SERIES_COLOUR)
}

describe('the built-in UI in chromium', () => {
  it('draws a remote-written series on the query page, with a table of its latest values', async () => {
    await page.goto(`${server.url}/#/query?expr=ui_demo_temperature_celsius&range=15m`)
    await page.waitForSelector('#graph[data-points] canvas', { timeout: 30_000 })
    expect(Number(await page.getAttribute('#graph', 'data-series'))).toBe(2)
    expect(Number(await page.getAttribute('#graph', 'data-points'))).toBeGreaterThan(40)
    // The line is drawn in the first series' colour: pixels, not only data.
    expect(await colouredPixels('#graph canvas')).toBeGreaterThan(200)
    const rows = await page.$$eval('[data-panel="Table"] tr', (trs) => trs.map((tr) => tr.textContent ?? ''))
    expect(rows.filter((r) => r.includes('host="a"')).length).toBe(1)
    await page.screenshot({ path: join(ARTIFACTS, 'query.png'), fullPage: true })
  }, 60_000)

  it('completes metric names and then label names from the API', async () => {
    await page.goto(`${server.url}/#/query`)
    await page.fill('#expr', '')
    await page.type('#expr', 'ui_demo_te')
    await page.waitForSelector('.suggest:not([hidden]) div', { timeout: 10_000 })
    expect(await page.$$eval('.suggest div', (ds) => ds.map((d) => d.textContent))).toContain('ui_demo_temperature_celsius')
    await page.keyboard.press('Tab')
    expect(await page.inputValue('#expr')).toBe('ui_demo_temperature_celsius')
    await page.type('#expr', '{')
    await page.waitForSelector('.suggest:not([hidden]) div', { timeout: 10_000 })
    expect(await page.$$eval('.suggest div', (ds) => ds.map((d) => d.textContent))).toEqual(expect.arrayContaining(['host', 'job']))
    await page.screenshot({ path: join(ARTIFACTS, 'completion.png') })
  }, 30_000)

  it('shows the firing alert, the rule group and the redacted configuration on the status page', async () => {
    await page.goto(`${server.url}/#/status`)
    await page.waitForSelector('[data-alert="UiDemoHot"].firing', { timeout: 60_000 })
    const rules = await page.textContent('[data-panel="Rule groups"]')
    expect(rules).toContain('ui-demo')
    expect(await page.textContent('[data-panel="Health"]')).toContain('ready')
    expect(await page.textContent('[data-panel="Rollups"]')).toContain('samples_1m_refresh')
    await page.screenshot({ path: join(ARTIFACTS, 'status.png'), fullPage: true })
  }, 90_000)

  it('renders the cardinality view, or says it is not available', async () => {
    await page.goto(`${server.url}/#/cardinality`)
    await page.waitForSelector('[data-panel="Series per metric"], #tsdb-unavailable', { timeout: 20_000 })
    await page.screenshot({ path: join(ARTIFACTS, 'cardinality.png'), fullPage: true })
  }, 30_000)

  it('got a 2xx answer to every request the pages made', () => {
    expect(answers.length).toBeGreaterThan(10)
    expect(answers.filter((a) => a.status < 200 || a.status > 299)).toEqual([])
  })

  it('shows the error the API returns for a bad expression', async () => {
    await page.goto(`${server.url}/#/query?expr=${encodeURIComponent('rate(ui_demo_temperature_celsius')}&range=5m`)
    await page.waitForSelector('#result .error', { timeout: 20_000 })
    expect(await page.textContent('#result .error')).toMatch(/bad_data/)
    await page.screenshot({ path: join(ARTIFACTS, 'query-error.png') })
  }, 30_000)
})
