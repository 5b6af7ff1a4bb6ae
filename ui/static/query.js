// The query page: a PromQL box with metric-name and label completion from the API, a line
// chart of the range query (uPlot), the instant result as a table, and the API's errors.
import uPlot from '/ui/vendor/uPlot.esm.js'
import { getJson } from './api.js'
import { el, errorBox, section, table } from './dom.js'

const RANGES = { '5m': 300, '15m': 900, '1h': 3600, '6h': 21600, '1d': 86400, '7d': 604800 }
const MAX_POINTS = 300

export async function queryPage(root, params) {
  const input = el('textarea', { rows: '3', id: 'expr', spellcheck: 'false', placeholder: 'PromQL, e.g. rate(metrichouse_adapter_samples_accepted_total[5m])' })
  input.value = params.get('expr') ?? ''
  const range = el('select', { id: 'range' }, Object.keys(RANGES).map((r) => el('option', { value: r }, r)))
  range.value = params.get('range') ?? '1h'
  const run = el('button', { id: 'run' }, 'Run')
  const suggest = el('div', { class: 'suggest', hidden: '' })
  const result = el('div', { id: 'result' })
  root.append(section('Expression', el('div', { class: 'editor' }, input, suggest), el('div', { class: 'controls' }, 'range', range, run, el('span', { class: 'muted' }, 'Ctrl+Enter runs'))), result)

  const completer = new Completer(input, suggest)
  run.addEventListener('click', () => execute())
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault()
      execute()
    }
  })
  let chart
  async function execute() {
    completer.hide()
    const expr = input.value.trim()
    if (!expr) return
    history.replaceState(null, '', `#/query?${new URLSearchParams({ expr, range: range.value })}`)
    const end = Math.floor(Date.now() / 1000)
    const seconds = RANGES[range.value]
    const step = Math.max(1, Math.ceil(seconds / MAX_POINTS))
    const [ranged, instant] = await Promise.all([
      getJson('/api/v1/query_range', { query: expr, start: String(end - seconds), end: String(end), step: String(step) }),
      getJson('/api/v1/query', { query: expr, time: String(end) }),
    ])
    chart?.destroy()
    chart = undefined
    result.replaceChildren()
    if (!ranged.ok) {
      result.append(section('Error', errorBox(ranged.error)))
      return
    }
    const graph = el('div', { id: 'graph' })
    result.append(section('Graph', graph))
    chart = drawChart(graph, ranged.data)
    result.append(section('Table', instant.ok ? instantTable(instant.data) : errorBox(instant.error)))
  }
  if (input.value) execute()
  return () => chart?.destroy()
}

function seriesName(metric) {
  const name = metric.__name__ ?? ''
  const labels = Object.entries(metric).filter(([k]) => k !== '__name__').map(([k, v]) => `${k}="${v}"`)
  return `${name}{${labels.join(', ')}}`
}

function drawChart(container, data) {
  if (data.resultType !== 'matrix' || data.result.length === 0) {
    container.append(el('p', { class: 'muted', id: 'no-data' }, 'no data in this range'))
    return undefined
  }
  // uPlot takes one x array shared by all series: the union of timestamps, null where a series has none.
  const xs = [...new Set(data.result.flatMap((s) => s.values.map((v) => v[0])))].sort((a, b) => a - b)
  const index = new Map(xs.map((x, i) => [x, i]))
  const ys = data.result.map((s) => {
    const y = new Array(xs.length).fill(null)
    for (const [t, v] of s.values) y[index.get(t)] = Number(v)
    return y
  })
  const palette = ['#2f6fdd', '#e8a33d', '#1a7f37', '#c62828', '#7b3fb5', '#0097a7', '#8d6e63', '#5c6bc0']
  const opts = {
    width: Math.max(400, container.clientWidth || 900),
    height: 320,
    series: [{}, ...data.result.map((s, i) => ({ label: seriesName(s.metric), stroke: palette[i % palette.length], width: 1.5, points: { show: xs.length < 60 }, spanGaps: false }))],
    axes: [{}, { size: 70 }],
    legend: { live: true },
  }
  const plot = new uPlot(opts, [xs, ...ys], container)
  container.dataset.points = String(ys.reduce((n, y) => n + y.filter((v) => v !== null).length, 0))
  container.dataset.series = String(ys.length)
  return plot
}

function instantTable(data) {
  if (data.resultType === 'scalar' || data.resultType === 'string') return table(['value'], [[String(data.result[1])]])
  if (data.result.length === 0) return el('p', { class: 'muted' }, 'empty result')
  return table(['series', 'value'], data.result.map((s) => [el('td', { class: 'labels' }, seriesName(s.metric)), el('td', { class: 'num' }, s.value ? s.value[1] : `${s.values.length} samples`)]))
}

// Completion: metric names anywhere a name can start; label names inside {...}; label values
// after name=" or name=~". All from the Prometheus API, scoped to the metric where known.
class Completer {
  constructor(input, box) {
    this.input = input
    this.box = box
    this.items = []
    this.selected = 0
    this.cache = new Map()
    input.addEventListener('input', () => this.update())
    input.addEventListener('keydown', (e) => this.key(e))
    input.addEventListener('blur', () => setTimeout(() => this.hide(), 150))
  }

  async values(path, params) {
    const key = path + JSON.stringify(params ?? {})
    if (!this.cache.has(key)) this.cache.set(key, getJson(path, params))
    const r = await this.cache.get(key)
    return r.ok ? r.data : []
  }

  context() {
    const before = this.input.value.slice(0, this.input.selectionStart)
    const value = /([a-zA-Z_:][a-zA-Z0-9_:]*)\{[^}]*?([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)$/.exec(before)
    if (value) return { kind: 'value', metric: value[1], label: value[2], prefix: value[4] }
    const label = /([a-zA-Z_:][a-zA-Z0-9_:]*)\{(?:[^}"]*"[^"]*"\s*,?\s*)*([a-zA-Z_][a-zA-Z0-9_]*)?$/.exec(before)
    if (label) return { kind: 'label', metric: label[1], prefix: label[2] ?? '' }
    const name = /([a-zA-Z_:][a-zA-Z0-9_:]*)$/.exec(before)
    if (name) return { kind: 'metric', prefix: name[1] }
    return undefined
  }

  async update() {
    const ctx = this.context()
    if (!ctx) return this.hide()
    let all
    if (ctx.kind === 'metric') all = await this.values('/api/v1/label/__name__/values')
    else if (ctx.kind === 'label') all = (await this.values('/api/v1/labels', { 'match[]': ctx.metric })).filter((l) => l !== '__name__')
    else all = await this.values(`/api/v1/label/${encodeURIComponent(ctx.label)}/values`, { 'match[]': ctx.metric })
    const items = all.filter((v) => v.startsWith(ctx.prefix) && v !== ctx.prefix).slice(0, 50)
    this.show(items, ctx.prefix)
  }

  show(items, prefix) {
    this.items = items
    this.prefix = prefix
    this.selected = 0
    if (items.length === 0) return this.hide()
    this.box.replaceChildren(...items.map((v, i) => el('div', { class: i === 0 ? 'sel' : '', onmousedown: (e) => { e.preventDefault(); this.accept(i) } }, v)))
    this.box.hidden = false
  }

  hide() {
    this.box.hidden = true
    this.items = []
  }

  key(e) {
    if (this.box.hidden) return
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault()
      this.selected = (this.selected + (e.key === 'ArrowDown' ? 1 : this.items.length - 1)) % this.items.length
      ;[...this.box.children].forEach((c, i) => c.classList.toggle('sel', i === this.selected))
    } else if (e.key === 'Tab' || (e.key === 'Enter' && !e.ctrlKey && !e.metaKey)) {
      e.preventDefault()
      this.accept(this.selected)
    } else if (e.key === 'Escape') this.hide()
  }

  accept(i) {
    const value = this.items[i]
    const pos = this.input.selectionStart
    const text = this.input.value
    const start = pos - this.prefix.length
    this.input.value = text.slice(0, start) + value + text.slice(pos)
    this.input.selectionStart = this.input.selectionEnd = start + value.length
    this.hide()
    this.input.focus()
  }
}
