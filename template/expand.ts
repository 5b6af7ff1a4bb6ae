/**
 * Prometheus's alert-template expansion: the label or annotation text is a Go template with
 * `$labels`, `$externalLabels`, `$externalURL` and `$value` defined, and `.Labels`,
 * `.ExternalLabels`, `.ExternalURL`, `.Value` on dot. Parsing is separate from execution so the
 * linter can report both kinds of failure, and the ruler parses each template once.
 */
import { GoMap, GoStruct, executeTemplate, type GoValue } from './exec.js'
import { TEMPLATE_FUNCTION_NAMES, templateFunctions, type TemplateEnvironment } from './functions.js'
import { parseTemplate, type ParsedTemplate } from './parse.js'

export { TemplateParseError } from './parse.js'
export { TemplateExecError } from './exec.js'

const PREDECLARED = ['$labels', '$externalLabels', '$externalURL', '$value']

export interface AlertTemplateData {
  labels: Record<string, string>
  externalLabels: Record<string, string>
  externalURL: string
  value: number
}

export class AlertTemplate {
  private constructor(
    readonly text: string,
    private readonly parsed: ParsedTemplate | undefined,
  ) {}

  /** Throws TemplateParseError. A text without "{{" needs no parse and expands to itself. */
  static parse(text: string): AlertTemplate {
    if (!text.includes('{{')) return new AlertTemplate(text, undefined)
    return new AlertTemplate(text, parseTemplate(text, { functions: TEMPLATE_FUNCTION_NAMES, predeclared: PREDECLARED }))
  }

  /** Throws TemplateExecError. */
  expand(data: AlertTemplateData, query: TemplateEnvironment['query'] = () => []): string {
    if (this.parsed === undefined) return this.text
    const labels = new GoMap(data.labels)
    const external = new GoMap(data.externalLabels)
    const dot = new GoStruct('struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }', {
      Labels: labels,
      ExternalLabels: external,
      ExternalURL: data.externalURL,
      Value: data.value,
    })
    const vars: Record<string, GoValue> = { $labels: labels, $externalLabels: external, $externalURL: data.externalURL, $value: data.value }
    return executeTemplate(this.parsed, dot, templateFunctions({ query, externalURL: data.externalURL }), vars)
  }
}
