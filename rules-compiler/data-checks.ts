/**
 * `rules lint --url`: checks that need the data the rules will run on, which no offline linter
 * has. Every selector must match series that exist or existed within `lookbackMs` (pint's
 * promql/series), and the label names that by/without/on/ignoring/group_left and the alert's
 * templates use must exist on those series. Selectors of metrics that the linted files record
 * themselves are skipped: a new recording rule has no data yet.
 */
import { referencedLabels } from './checks.js'
import type { Problem } from './problem.js'
import { parseRuleExpr, walk, type Expr } from './promql.js'
import type { QueryClient } from './query-client.js'
import type { RuleDefinition, RuleGroupDefinition } from './rule-file.js'

export interface DataCheckOptions {
  client: QueryClient
  nowMs: number
  /** How far back a series still counts as existing (the store's retention). */
  lookbackMs: number
  /** Label sets read per selector: enough to learn its label names. */
  seriesLimit?: number
}

type VectorSelectorNode = Extract<Expr, { type: 'VectorSelector' }>

/** The selector as the series API takes it (no offset or @, which select times, not series). */
export function selectorText(s: VectorSelectorNode): string {
  return `{${s.matchers.map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`).join(', ')}}`
}

export async function checkAgainstData(groups: readonly RuleGroupDefinition[], opts: DataCheckOptions): Promise<Problem[]> {
  const recorded = new Set(groups.flatMap((g) => g.rules.filter((r) => r.kind === 'record').map((r) => r.name.value)))
  const labelNames = new Map<string, Promise<Set<string>>>()
  const namesOf = (s: VectorSelectorNode) => {
    const key = selectorText(s)
    let p = labelNames.get(key)
    if (!p) {
      p = opts.client.series(key, opts.nowMs - opts.lookbackMs, opts.nowMs, opts.seriesLimit ?? 1000).then((sets) => new Set(sets.flatMap((l) => Object.keys(l))))
      labelNames.set(key, p)
    }
    return p
  }
  const problems: Problem[] = []
  for (const g of groups) {
    for (const rule of g.rules) {
      const parsed = parseRuleExpr(rule.expr.value)
      if (!parsed.ok) continue
      const add = (offset: number, check: string, message: string) =>
        problems.push({ file: g.file, ...rule.expr.at(offset), check, severity: 'warning', message, group: g.name.value, rule: rule.name.value })
      await checkRule(rule, parsed.expr, recorded, namesOf, opts.lookbackMs, add)
    }
  }
  return problems
}

async function checkRule(
  rule: RuleDefinition,
  expr: Expr,
  recorded: ReadonlySet<string>,
  namesOf: (s: VectorSelectorNode) => Promise<Set<string>>,
  lookbackMs: number,
  add: (offset: number, check: string, message: string) => void,
): Promise<void> {
  /** Label names of the series under a node; undefined when a selector under it is unknown (recorded here, or matches nothing). */
  const known = new Map<Expr, Set<string> | undefined>()
  const labelsUnder = async (node: Expr): Promise<Set<string> | undefined> => {
    if (known.has(node)) return known.get(node)
    const names = new Set<string>()
    let complete = true
    for (const n of walk(node)) {
      if (n.type !== 'VectorSelector') continue
      if (n.name !== undefined && recorded.has(n.name)) {
        complete = false
        continue
      }
      const found = await namesOf(n)
      if (found.size === 0) complete = false
      for (const l of found) names.add(l)
    }
    const result = complete && names.size > 0 ? names : undefined
    known.set(node, result)
    return result
  }
  for (const n of walk(expr)) {
    if (n.type !== 'VectorSelector' || (n.name !== undefined && recorded.has(n.name))) continue
    if ((await namesOf(n)).size === 0) add(n.pos.start, 'data/series', `${selectorText(n)} matches no series now or in the last ${Math.round(lookbackMs / 86_400_000)}d: a typo, a renamed metric, or a target not scraped`)
  }
  for (const n of walk(expr)) {
    const used =
      n.type === 'AggregateExpr' ? { names: n.grouping, what: n.without ? 'without' : 'by', under: [n.expr] } : n.type === 'BinaryExpr' && n.matching?.explicit ? { names: [...n.matching.labels, ...n.matching.include], what: n.matching.on ? 'on' : 'ignoring', under: [n.lhs, n.rhs] } : undefined
    if (!used) continue
    const sides = await Promise.all(used.under.map(labelsUnder))
    for (const name of used.names) {
      if (sides.some((s) => s === undefined || s.has(name))) continue
      add(n.pos.start, 'data/labels', `${used.what} (${name}): no series under it has a label "${name}"`)
    }
  }
  if (rule.kind === 'alert') {
    const all = await labelsUnder(expr)
    if (all) {
      for (const [key, text] of [...rule.annotations, ...rule.labels]) {
        for (const name of referencedLabels(text.value)) {
          // A label the query makes itself (label_replace, count_values) is named in it as a string.
          if (all.has(name) || rule.expr.value.includes(`"${name}"`)) continue
          add(0, 'data/labels', `template "${key}" uses label "${name}", which no series the query reads has`)
        }
      }
    }
  }
}
