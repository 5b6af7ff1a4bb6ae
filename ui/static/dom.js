// Small DOM helpers: el('td', { class: 'num' }, '3') and a table from rows.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v)
    else node.setAttribute(k, v)
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : String(c))
  return node
}

export function table(headers, rows) {
  return el('table', {}, el('tr', {}, headers.map((h) => el('th', {}, h))), rows.map((r) => el('tr', {}, r.map((c) => (c instanceof Node && c.tagName === 'TD' ? c : el('td', {}, c))))))
}

export function section(title, ...children) {
  return el('section', { 'data-panel': title }, el('h2', {}, title), ...children)
}

export function errorBox(message) {
  return el('div', { class: 'error' }, message)
}

export function fmt(n, unit = '') {
  if (n === undefined || Number.isNaN(n)) return '–'
  const abs = Math.abs(n)
  const [d, s] = abs >= 1e9 ? [1e9, 'G'] : abs >= 1e6 ? [1e6, 'M'] : abs >= 1e3 ? [1e3, 'k'] : [1, '']
  return `${(n / d).toFixed(d === 1 && Number.isInteger(n) ? 0 : 2)}${s}${unit}`
}

export function ago(iso) {
  if (!iso || iso.startsWith('0001')) return 'never'
  const s = (Date.now() - new Date(iso).getTime()) / 1000
  return s < 120 ? `${s.toFixed(0)} s ago` : s < 7200 ? `${(s / 60).toFixed(0)} min ago` : `${(s / 3600).toFixed(1)} h ago`
}
