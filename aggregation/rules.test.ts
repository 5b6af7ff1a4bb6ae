import { describe, expect, it } from 'vitest'
import { parseAggregationRules } from './rules.js'

describe('parseAggregationRules', () => {
  const valid: { yaml: string; suffix: string; outputs: string[] }[] = [
    { yaml: `- { match: 'x', interval: 1m, outputs: [sum_samples] }`, suffix: ':1m_', outputs: ['sum_samples'] },
    { yaml: `- { match: 'x', interval: 5m, by: [job, cluster, job], outputs: [total] }`, suffix: ':5m_by_cluster_job_', outputs: ['total'] },
    { yaml: `- { match: ['x', 'y{a="b"}'], interval: 30s, without: [pod, instance], outputs: ['quantiles(0.5, 0.99)', rate_sum] }`, suffix: ':30s_without_instance_pod_', outputs: ['quantiles', 'rate_sum'] },
    { yaml: `- { interval: 1h, outputs: [count_series] }`, suffix: ':1h_', outputs: ['count_series'] },
  ]
  for (const v of valid) {
    it(`names outputs ${v.suffix}<output> for ${v.yaml}`, () => {
      const [rule] = parseAggregationRules(v.yaml, 'agg.yml')
      expect(rule.suffix).toBe(v.suffix)
      expect(rule.outputs.map((o) => o.kind)).toEqual(v.outputs)
    })
  }

  const refused: { yaml: string; error: string }[] = [
    { yaml: `match: x`, error: 'agg.yml: expected a list of aggregation rules' },
    { yaml: `- [1]`, error: 'agg.yml: rule 1: a rule is a mapping' },
    { yaml: `- { interval: 1m, outputs: [stddev] }`, error: 'rule 1: output "stddev" is not supported by metrichouse' },
    { yaml: `- { interval: 1m, outputs: [median] }`, error: 'rule 1: unknown output "median"' },
    { yaml: `- { interval: 1m, outputs: [] }`, error: 'outputs must list at least one output' },
    { yaml: `- { interval: 1m, outputs: [min, min] }`, error: 'an output is listed twice' },
    { yaml: `- { interval: 1m, outputs: ['quantiles(1.5)'] }`, error: 'phi "1.5" is not a number in [0, 1]' },
    { yaml: `- { interval: 1m, outputs: ['quantiles()'] }`, error: 'quantiles() needs at least one phi' },
    { yaml: `- { interval: 500ms, outputs: [min] }`, error: 'interval must be at least 1s' },
    { yaml: `- { interval: soon, outputs: [min] }`, error: 'interval: invalid duration "soon"' },
    { yaml: `- { interval: 1m, staleness_interval: 30s, outputs: [min] }`, error: 'staleness_interval must not be shorter than interval' },
    { yaml: `- { interval: 1m, by: [a], without: [b], outputs: [min] }`, error: 'by and without cannot both be set' },
    { yaml: `- { interval: 1m, by: [__name__], outputs: [min] }`, error: 'by: __name__ cannot be listed' },
    { yaml: `- { interval: 1m, by: ['a-b'], outputs: [min] }`, error: 'by: invalid label name "a-b"' },
    { yaml: `- { match: 'x{', interval: 1m, outputs: [min] }`, error: 'rule 1: match "x{"' },
    { yaml: `- { match: 'x{a=~"("}', interval: 1m, outputs: [min] }`, error: 'rule 1: match "x{a=~\\"(\\"}"' },
    { yaml: `- { interval: 1m, outputs: [min], output_relabel_configs: [] }`, error: 'field output_relabel_configs is not supported by metrichouse' },
    { yaml: `- { interval: 1m, outputs: [min], dedup_interval: 1m }`, error: 'field dedup_interval is not supported' },
    { yaml: `- { interval: 1m, outputs: [min], flavour: x }`, error: 'unknown field "flavour"' },
    { yaml: `- { interval: 1m, outputs: [min] }\n- { interval: 1m }`, error: 'agg.yml: rule 2: outputs must list' },
    { yaml: `- {`, error: 'agg.yml: not valid YAML' },
  ]
  for (const r of refused) {
    it(`refuses ${JSON.stringify(r.yaml)} with "${r.error}"`, () => {
      expect(() => parseAggregationRules(r.yaml, 'agg.yml')).toThrow(r.error)
    })
  }
})
