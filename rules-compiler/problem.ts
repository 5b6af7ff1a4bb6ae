/** One finding of the linter: where, which check, how bad, what. */
export type Severity = 'error' | 'warning' | 'info'

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, error: 2 }

export interface Problem {
  file: string
  /** 1-based. */
  line: number
  /** 1-based. */
  column: number
  check: string
  severity: Severity
  message: string
  /** Group and rule the problem belongs to, when it belongs to one. */
  group?: string
  rule?: string
}

export interface SourcePos {
  line: number
  column: number
}
