/**
 * `rules lint`: every file -> load (YAML + schema) -> per-file checks (duplicate groups and
 * rules) -> per-rule checks -> disable comments and configured severities applied -> problems
 * sorted by file, line, column.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { checkRule } from './checks.js'
import { defaultLintConfig, OPTIONAL_CHECKS, type LintConfig, type OptionalCheck } from './lint-config.js'
import type { Problem } from './problem.js'
import { loadRuleFile, parseRuleFile, type LoadedRuleFile, type RuleGroupDefinition } from './rule-file.js'

export class InputError extends Error {
  override readonly name = 'InputError'
}

/** Files named, and *.yml/*.yaml found under directories named (sorted); throws InputError. */
export function expandInputs(inputs: readonly string[]): string[] {
  const files: string[] = []
  const visit = (path: string, named: boolean) => {
    let st
    try {
      st = statSync(path)
    } catch (err) {
      throw new InputError(`${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`)
    }
    if (st.isDirectory()) {
      for (const e of readdirSync(path).sort()) visit(join(path, e), false)
    } else if (named || (/\.ya?ml$/.test(path) && !isUnitTestFile(path))) {
      files.push(path)
    }
  }
  for (const input of inputs) visit(input, true)
  return files
}

/** A promtool unit-test file (rule_files + tests) beside the rules it tests: not a rule file. */
function isUnitTestFile(path: string): boolean {
  try {
    const head = readFileSync(path, 'utf8').slice(0, 8192)
    return /^(rule_files|tests)\s*:/m.test(head) && !/^groups\s*:/m.test(head)
  } catch {
    return false
  }
}

export function lintFiles(files: readonly string[], config: LintConfig = defaultLintConfig()): Problem[] {
  return files.flatMap((f) => lintLoaded(loadRuleFile(f), config))
}

export function lintText(file: string, text: string, config: LintConfig = defaultLintConfig()): Problem[] {
  return lintLoaded(parseRuleFile(file, text), config)
}

export function lintLoaded(loaded: LoadedRuleFile, config: LintConfig): Problem[] {
  const problems = [...loaded.problems]
  const { file } = loaded
  const seenGroups = new Map<string, RuleGroupDefinition>()
  const seenRules = new Map<string, string>()
  for (const g of loaded.groups) {
    const scope = `${g.source.document}`
    if (g.name.value === '') problems.push({ file, ...g.name.pos, check: 'schema', severity: 'error', message: 'Groupname must not be empty' })
    const key = `${scope}\u0000${g.name.value}`
    if (seenGroups.has(key)) problems.push({ file, ...g.name.pos, check: 'group/duplicate', severity: 'error', message: `groupname: "${g.name.value}" is repeated in the same file`, group: g.name.value })
    seenGroups.set(key, g)
    for (const rule of g.rules) {
      const where = { group: g.name.value, rule: rule.name.value }
      for (const f of checkRule(rule, config)) {
        if (rule.disabled.has(f.check) && f.check in OPTIONAL_CHECKS) continue
        problems.push({ file, ...f.pos, check: f.check, severity: f.severity, message: f.message, ...where })
      }
      // promtool counts a rule as duplicate by name and labels (its "N duplicate rule(s) found" warning).
      const ruleKey = `${scope}\u0000${rule.kind}\u0000${rule.name.value}\u0000${JSON.stringify([...rule.labels].map(([k, v]) => [k, v.value]).sort())}`
      const sev = config.severity['rules/duplicate' as OptionalCheck]
      if (seenRules.has(ruleKey) && sev !== 'off' && !rule.disabled.has('rules/duplicate'))
        problems.push({ file, ...rule.pos, check: 'rules/duplicate', severity: sev, message: `${rule.kind === 'alert' ? 'alert' : 'recording rule'} "${rule.name.value}" with the same labels is already defined in group "${seenRules.get(ruleKey)}"`, ...where })
      if (!seenRules.has(ruleKey)) seenRules.set(ruleKey, g.name.value)
    }
  }
  return problems.sort((a, b) => (a.file === b.file ? a.line - b.line || a.column - b.column : a.file < b.file ? -1 : 1))
}
