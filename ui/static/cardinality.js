// The cardinality view: the top metrics and labels by series, from /api/v1/status/tsdb
// (Prometheus's shape: headStats, seriesCountByMetricName, labelValueCountByLabelName, ...).
import { getJson } from './api.js'
import { el, errorBox, fmt, section, table } from './dom.js'

export async function cardinalityPage(root) {
  const info = await getJson('/ui/info.json')
  if (!info.ok || !info.data.endpoints.includes('/api/v1/status/tsdb')) {
    root.append(section('Cardinality', el('p', { class: 'muted', id: 'tsdb-unavailable' }, 'not available: this role does not serve /api/v1/status/tsdb (the query API of serve or query does, in builds that have it).')))
    return
  }
  const r = await getJson('/api/v1/status/tsdb', { limit: '20' })
  if (!r.ok) {
    root.append(section('Cardinality', errorBox(r.error)))
    return
  }
  const d = r.data
  const rows = (list) => (list ?? []).map((x) => [x.name, el('td', { class: 'num' }, fmt(x.value))])
  root.append(
    section('Head', table(['', ''], Object.entries(d.headStats ?? {}).map(([k, v]) => [k, el('td', { class: 'num' }, typeof v === 'number' && k.endsWith('Time') ? new Date(v).toISOString() : fmt(v))]))),
    el('div', { class: 'grid' },
      section('Series per metric', table(['metric', 'series'], rows(d.seriesCountByMetricName))),
      section('Values per label', table(['label', 'values'], rows(d.labelValueCountByLabelName))),
      section('Series per label pair', table(['pair', 'series'], rows(d.seriesCountByLabelValuePair))),
      section('Memory per label', table(['label', 'bytes'], rows(d.memoryInBytesByLabelName))),
    ),
  )
}
