/**
 * Reads rule files into typed groups and rules that remember where each part came from
 * (file:line:column), from plain Prometheus rule files and from Kubernetes `PrometheusRule`
 * manifests (prometheus-operator), one or many YAML documents per file. Structure is checked
 * against the shipped JSON Schema (rule-file.schema.json, the one editors use too). A broken
 * file yields problems, never an exception.
 */
import { Ajv, type ErrorObject } from 'ajv'
import { readFileSync } from 'node:fs'
import { LineCounter, Scalar, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node as YamlNode } from 'yaml'
import { DurationError, parseDuration } from './duration.js'
import type { Problem, SourcePos } from './problem.js'
import schema from './rule-file.schema.json' with { type: 'json' }

const ajv = new Ajv({ allErrors: true, strict: false })
const validateRuleFile = ajv.compile(schema)

/** A scalar with where it stands; `at(offset)` maps an offset inside the value to the source. */
export interface LocatedText {
  value: string
  pos: SourcePos
  at(offset: number): SourcePos
}

export interface RuleDefinition {
  kind: 'alert' | 'record'
  name: LocatedText
  expr: LocatedText
  forMs: number
  /** `for` is written (an explicit `for: 0s` is a decision, not an omission). */
  forWritten: boolean
  keepFiringForMs: number
  labels: Map<string, LocatedText>
  annotations: Map<string, LocatedText>
  pos: SourcePos
  /** Checks switched off for this rule by a `# metrichouse-lint disable CHECK` comment. */
  disabled: Set<string>
  /** Line span in the source, for comments. */
  lines: [number, number]
}

export interface RuleGroupDefinition {
  file: string
  name: LocatedText
  intervalMs?: number
  queryOffsetMs?: number
  limit: number
  rules: RuleDefinition[]
  pos: SourcePos
  /** `plain` rule file or a `PrometheusRule` manifest (document index, metadata name). */
  source: { kind: 'plain' | 'PrometheusRule'; document: number; resource?: string }
}

export interface LoadedRuleFile {
  file: string
  groups: RuleGroupDefinition[]
  problems: Problem[]
}

const DISABLE_COMMENT = /#\s*metrichouse-lint\s+disable\s+([\w/,\s-]+)/

/** Reads and parses one file; I/O errors become a problem with check "io". */
export function loadRuleFile(file: string): LoadedRuleFile {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    return { file, groups: [], problems: [{ file, line: 1, column: 1, check: 'io', severity: 'error', message: (err as Error).message }] }
  }
  return parseRuleFile(file, text)
}

export function parseRuleFile(file: string, text: string): LoadedRuleFile {
  const lineCounter = new LineCounter()
  const problems: Problem[] = []
  const groups: RuleGroupDefinition[] = []
  const posOf = (offset: number): SourcePos => {
    const p = lineCounter.linePos(offset)
    return { line: p.line, column: p.col }
  }
  const problem = (pos: SourcePos, check: string, message: string, extra: Partial<Problem> = {}) =>
    problems.push({ file, line: pos.line, column: pos.column, check, severity: 'error', message, ...extra })

  let docs: Document.Parsed[]
  try {
    docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false }) as Document.Parsed[]
    if (!Array.isArray(docs)) docs = [docs as unknown as Document.Parsed]
  } catch (err) {
    problem({ line: 1, column: 1 }, 'yaml', `cannot parse YAML: ${(err as Error).message}`)
    return { file, groups, problems }
  }
  const lines = text.split('\n')

  docs.forEach((doc, docIndex) => {
    if (doc.errors.length > 0) {
      for (const e of doc.errors.slice(0, 5)) problem(posOf(e.pos[0]), 'yaml', e.message.split('\n')[0]!)
      return
    }
    let js: unknown
    try {
      js = doc.toJS({ maxAliasCount: 1000 })
    } catch (err) {
      problem(posOf(doc.range[0]), 'yaml', (err as Error).message)
      return
    }
    if (js === null || js === undefined) return // an empty document: no groups
    let base: (string | number)[] = []
    let kind: 'plain' | 'PrometheusRule' = 'plain'
    let resource: string | undefined
    const obj = js as Record<string, unknown>
    if (typeof js === 'object' && !Array.isArray(js) && 'apiVersion' in obj && 'kind' in obj) {
      if (obj.kind !== 'PrometheusRule') {
        problem(posOf(doc.range[0]), 'yaml', `document ${docIndex + 1} is a Kubernetes ${String(obj.kind)}, not a PrometheusRule`, { severity: 'info' })
        return
      }
      if (typeof obj.apiVersion !== 'string' || !obj.apiVersion.startsWith('monitoring.coreos.com/')) {
        problem(posOf(doc.range[0]), 'schema', `PrometheusRule apiVersion must be monitoring.coreos.com/v1, got "${String(obj.apiVersion).slice(0, 60)}"`)
        return
      }
      kind = 'PrometheusRule'
      base = ['spec']
      resource = ((obj.metadata ?? {}) as Record<string, unknown>).name as string | undefined
      js = obj.spec ?? null
    }
    const nodeAt = (path: readonly (string | number)[]): YamlNode | undefined => {
      let n: unknown = doc.contents
      for (const key of path) {
        if (isMap(n)) {
          const pair = n.items.find((p) => (isScalar(p.key) ? String(p.key.value) : p.key) === String(key))
          n = pair?.value ?? pair?.key
        } else if (isSeq(n)) n = n.items[key as number]
        else return n as YamlNode | undefined
      }
      return n as YamlNode | undefined
    }
    const keyPos = (path: readonly (string | number)[]): SourcePos => {
      const parent = nodeAt(path.slice(0, -1))
      const last = path[path.length - 1]
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(last))
        const k = pair?.key as YamlNode | undefined
        if (k?.range) return posOf(k.range[0])
      }
      const n = nodeAt(path)
      return posOf(n?.range?.[0] ?? parent?.range?.[0] ?? doc.range[0])
    }

    if (!validateRuleFile(js)) {
      for (const e of dedupeAjvErrors(validateRuleFile.errors ?? [])) {
        const path = [...base, ...e.instancePath.split('/').slice(1).map(decodePointer)]
        const at = e.keyword === 'additionalProperties' ? [...path, (e.params as { additionalProperty: string }).additionalProperty] : path
        problem(keyPos(at), 'schema', describeAjvError(e, at))
      }
      return
    }

    const located = (path: readonly (string | number)[]): LocatedText | undefined => {
      const n = nodeAt(path)
      if (!isScalar(n) || n.value === null) return undefined
      return locate(n, text, posOf, lines)
    }
    const groupList = ((js as { groups?: unknown[] } | null)?.groups ?? []) as Record<string, unknown>[]
    groupList.forEach((g, gi) => {
      const gp = [...base, 'groups', gi]
      const name = located([...gp, 'name']) ?? { value: '', pos: keyPos(gp), at: () => keyPos(gp) }
      const duration = (key: string): number | undefined => {
        const t = located([...gp, key])
        if (t === undefined) return undefined
        try {
          return parseDuration(t.value)
        } catch (err) {
          if (err instanceof DurationError) problem(t.pos, 'duration', `group "${name.value}": ${key}: ${err.message}`)
          return undefined
        }
      }
      const rules: RuleDefinition[] = []
      const group: RuleGroupDefinition = {
        file,
        name,
        intervalMs: duration('interval'),
        queryOffsetMs: duration('query_offset'),
        limit: Number(g.limit ?? 0),
        rules,
        pos: keyPos(gp),
        source: { kind, document: docIndex, resource },
      }
      ;((g.rules ?? []) as Record<string, unknown>[]).forEach((_r, ri) => {
        const rp = [...gp, 'rules', ri]
        const node = nodeAt(rp)
        const pos = posOf(node?.range?.[0] ?? 0)
        const endLine = posOf(Math.max((node?.range?.[1] ?? 1) - 1, 0)).line
        const record = located([...rp, 'record'])
        const alert = located([...rp, 'alert'])
        const ruleName = alert?.value || record?.value || ''
        const where = { group: name.value, rule: ruleName }
        if (record && alert && record.value !== '' && alert.value !== '') problem(pos, 'schema', `only one of 'record' and 'alert' must be set`, where)
        if ((record?.value ?? '') === '' && (alert?.value ?? '') === '') problem(pos, 'schema', `one of 'record' or 'alert' must be set`, where)
        const expr = located([...rp, 'expr'])
        if (expr === undefined || expr.value === '') problem(pos, 'schema', `field 'expr' must be set in rule`, where)
        const ruleDuration = (key: string): number => {
          const t = located([...rp, key])
          if (t === undefined) return 0
          try {
            return parseDuration(t.value)
          } catch (err) {
            problem(t.pos, 'duration', `${key}: ${(err as Error).message}`, where)
            return 0
          }
        }
        const map = (key: string): Map<string, LocatedText> => {
          const m = new Map<string, LocatedText>()
          const n = nodeAt([...rp, key])
          if (!isMap(n)) return m
          for (const p of n.items) {
            if (!isScalar(p.key)) continue
            const v = isScalar(p.value) && p.value.value !== null ? locate(p.value, text, posOf, lines) : { value: '', pos: posOf((p.key as YamlNode).range![0]), at: () => posOf((p.key as YamlNode).range![0]) }
            m.set(String(p.key.value), v)
          }
          return m
        }
        const disabled = new Set<string>()
        let first = pos.line
        while (first > 1 && /^\s*#/.test(lines[first - 2] ?? '')) first--
        for (let l = first; l <= endLine; l++) {
          const m = DISABLE_COMMENT.exec(lines[l - 1] ?? '')
          if (m) for (const c of m[1]!.split(/[\s,]+/)) if (c !== '') disabled.add(c)
        }
        const placeholder = { value: '', pos, at: () => pos }
        rules.push({
          kind: alert !== undefined && alert.value !== '' ? 'alert' : 'record',
          name: alert !== undefined && alert.value !== '' ? alert : (record ?? placeholder),
          expr: expr ?? placeholder,
          forMs: ruleDuration('for'),
          forWritten: located([...rp, 'for']) !== undefined,
          keepFiringForMs: ruleDuration('keep_firing_for'),
          labels: map('labels'),
          annotations: map('annotations'),
          pos,
          disabled,
          lines: [pos.line, endLine],
        })
      })
      groups.push(group)
    })
  })
  return { file, groups, problems }
}

function decodePointer(s: string): string | number {
  const t = s.replace(/~1/g, '/').replace(/~0/g, '~')
  return /^\d+$/.test(t) ? Number(t) : t
}

/** ajv reports each failed branch of a $ref'd type; keep one message per place and keyword. */
function dedupeAjvErrors(errors: ErrorObject[]): ErrorObject[] {
  const seen = new Set<string>()
  return errors.filter((e) => {
    if (e.keyword === 'if') return false
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

function describeAjvError(e: ErrorObject, path: readonly (string | number)[]): string {
  const where = path.join('.') || 'document'
  switch (e.keyword) {
    case 'additionalProperties':
      return `field ${(e.params as { additionalProperty: string }).additionalProperty} not found in type ${path.length > 1 && typeof path[path.length - 2] === 'number' ? (path.includes('rules') ? 'rulefmt.RuleNode' : 'rulefmt.RuleGroup') : 'rulefmt.RuleGroups'} (unknown field)`
    case 'required':
      return `${where}: missing required field "${(e.params as { missingProperty: string }).missingProperty}"`
    case 'pattern':
      return path[path.length - 2] === 'labels' || path[path.length - 2] === 'annotations' ? `invalid ${String(path[path.length - 2]).replace(/s$/, '')} name: ${String(path[path.length - 1])}` : `${where}: not a valid duration`
    case 'propertyNames':
      return `${where}: invalid name ${JSON.stringify((e.params as { propertyName?: string }).propertyName ?? '')}`
    default:
      return `${where}: ${e.message ?? 'invalid'}`
  }
}

/** The scalar's text as Go's YAML decoder gives it (plain scalars keep their source text). */
function locate(n: Scalar, text: string, posOf: (offset: number) => SourcePos, lines: string[]): LocatedText {
  const start = n.range![0]
  const value = typeof n.value === 'string' ? n.value : (n.source ?? String(n.value))
  const pos = posOf(start)
  let at: (offset: number) => SourcePos = () => pos
  const raw = text.slice(start, n.range![1])
  if (n.type === Scalar.PLAIN && !raw.includes('\n')) at = (o) => posOf(start + Math.min(o, value.length))
  else if ((n.type === Scalar.QUOTE_SINGLE || n.type === Scalar.QUOTE_DOUBLE) && !raw.includes('\n') && !raw.includes('\\') && !raw.includes("''"))
    at = (o) => posOf(start + 1 + Math.min(o, value.length))
  else if (n.type === Scalar.BLOCK_LITERAL) {
    // Lines of the value are the source lines after the indicator, less their indentation.
    const firstLine = pos.line + 1
    const valueLines = value.split('\n')
    const firstSrc = lines[firstLine - 1] ?? ''
    const blockIndent = firstSrc.length - firstSrc.trimStart().length - (valueLines[0]!.length - valueLines[0]!.trimStart().length)
    at = (o) => {
      let rest = o
      for (let i = 0; i < valueLines.length; i++) {
        if (rest <= valueLines[i]!.length) {
          return { line: firstLine + i, column: blockIndent + rest + 1 }
        }
        rest -= valueLines[i]!.length + 1
      }
      return pos
    }
  }
  return { value, pos, at }
}
