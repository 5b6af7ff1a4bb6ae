// The single page: a hash route (#/status, #/query, #/cardinality) picks the page module.
import { getJson } from './api.js'
import { cardinalityPage } from './cardinality.js'
import { queryPage } from './query.js'
import { statusPage } from './status.js'

const pages = { status: statusPage, query: queryPage, cardinality: cardinalityPage }
const main = document.getElementById('page')
let stopCurrent = () => {}

async function route() {
  stopCurrent()
  const [name, rawQuery] = location.hash.replace(/^#\/?/, '').split('?')
  const page = pages[name] ? name : 'status'
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === page)
  main.replaceChildren()
  stopCurrent = (await pages[page](main, new URLSearchParams(rawQuery ?? ''))) ?? (() => {})
}

const info = await getJson('/ui/info.json')
if (info.ok) document.getElementById('role').textContent = `${info.data.role} · ${info.data.version}`
window.addEventListener('hashchange', route)
route()
