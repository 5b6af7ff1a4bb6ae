import { beforeAll, describe, expect, it } from 'vitest'
import { Fingerprinter } from '../proto/fingerprint.js'
import type { DecodedSeries, Label } from '../proto/types.js'
import { judgeAll, validateSeries as validateJudged, type RejectReason, type ValidationContext } from './validate.js'

const NOW = 1_800_000_000_000
let ctx: ValidationContext
let fingerprinter: Fingerprinter

function validateSeries(series: DecodedSeries[], context: ValidationContext) {
  return validateJudged(judgeAll(series, context.limits, fingerprinter), context)
}

beforeAll(async () => {
  fingerprinter = await Fingerprinter.create()
  ctx = {
    limits: { maxLabelsPerSeries: 5, maxLabelNameLength: 20, maxLabelValueLength: 30, maxSeriesPerRequest: 100, creationGracePeriodMs: 600_000 },
    nowMs: NOW,
    minTimestampMs: NOW - 7 * 86_400_000,
  }
})

function series(labels: Record<string, string> | Label[], timestamps: number[] = [NOW], histogramCount = 0): DecodedSeries {
  const ls = Array.isArray(labels) ? labels : Object.entries(labels).map(([name, value]) => ({ name, value }))
  return { labels: ls, samples: timestamps.map((t, i) => ({ timestampMs: t, value: i })), histogramCount, exemplarCount: 0 }
}

describe('validateSeries', () => {
  const rejects: { name: string; input: DecodedSeries; reason: RejectReason; message: RegExp }[] = [
    { name: 'a series without __name__', input: series({ job: 'a' }), reason: 'missing_metric_name', message: /no __name__/ },
    { name: 'an invalid metric name', input: series({ __name__: '1abc' }), reason: 'invalid_metric_name', message: /invalid metric name "1abc"/ },
    { name: 'an invalid label name', input: series({ __name__: 'up', 'bad-name': 'x' }), reason: 'invalid_label_name', message: /invalid label name "bad-name"/ },
    {
      name: 'a repeated label',
      input: series([
        { name: '__name__', value: 'up' },
        { name: 'job', value: 'a' },
        { name: 'job', value: 'b' },
      ]),
      reason: 'duplicate_label_names',
      message: /label "job" repeated/,
    },
    { name: 'too many labels', input: series({ __name__: 'up', a: '1', b: '2', c: '3', d: '4', e: '5' }), reason: 'max_label_names_per_series', message: /6 labels, more than the limit of 5/ },
    { name: 'a long label name', input: series({ __name__: 'up', ['n'.repeat(21)]: 'x' }), reason: 'label_name_too_long', message: /over the limit of 20/ },
    { name: 'a long label value', input: series({ __name__: 'up', job: 'v'.repeat(31) }), reason: 'label_value_too_long', message: /value of 31 characters/ },
    { name: 'a sample too far in the future', input: series({ __name__: 'up' }, [NOW + 600_001]), reason: 'too_far_in_future', message: /1 samples more than 600s in the future/ },
    { name: 'a sample older than retention', input: series({ __name__: 'up' }, [NOW - 8 * 86_400_000]), reason: 'too_old', message: /older than the raw retention/ },
    { name: 'native histograms', input: series({ __name__: 'h' }, [], 2), reason: 'native_histogram', message: /2 native histogram samples/ },
  ]
  for (const c of rejects) {
    it(`rejects ${c.name} and names the reason`, () => {
      const r = validateSeries([c.input], ctx)
      expect(r.rejections).toHaveLength(1)
      expect(r.rejections[0].reason).toBe(c.reason)
      expect(r.rejections[0].message).toMatch(c.message)
      expect(r.unchanged).toBe(false)
    })
  }

  it('keeps the valid samples of a series when only some are out of range', () => {
    const r = validateSeries([series({ __name__: 'up' }, [NOW - 1000, NOW + 3_600_000, NOW])], ctx)
    expect(r.accepted).toHaveLength(1)
    expect(r.accepted[0].samples.map((s) => s.timestampMs)).toEqual([NOW - 1000, NOW])
    expect(r.acceptedSamples).toBe(2)
    expect(r.rejections.map((x) => x.reason)).toEqual(['too_far_in_future'])
  })

  it('stores valid series beside invalid ones', () => {
    const r = validateSeries([series({ __name__: 'up', job: 'a' }), series({ job: 'x' }), series({ __name__: 'up', job: 'b' })], ctx)
    expect(r.accepted.map((s) => s.ref.labels.find((l) => l.name === 'job')!.value)).toEqual(['a', 'b'])
    expect(r.rejections.map((x) => x.seriesIndex)).toEqual([1])
  })

  it('sorts unsorted labels and gives them the id of the sorted form', () => {
    const sorted = validateSeries([series({ __name__: 'up', instance: 'h:1', job: 'a' })], ctx)
    const unsorted = validateSeries([series({ job: 'a', __name__: 'up', instance: 'h:1' })], ctx)
    expect(unsorted.accepted[0].ref.labels.map((l) => l.name)).toEqual(['__name__', 'instance', 'job'])
    expect(unsorted.accepted[0].ref.id).toBe(sorted.accepted[0].ref.id)
    expect(sorted.unchanged).toBe(true)
    expect(unsorted.unchanged).toBe(false)
  })

  it('drops labels with empty values, as Prometheus does', () => {
    const r = validateSeries([series({ __name__: 'up', empty: '', job: 'a' })], ctx)
    expect(r.accepted[0].ref.labels).toEqual([
      { name: '__name__', value: 'up' },
      { name: 'job', value: 'a' },
    ])
    expect(r.accepted[0].ref.id).toBe(validateSeries([series({ __name__: 'up', job: 'a' })], ctx).accepted[0].ref.id)
  })

  it('passes series with no samples over silently', () => {
    const r = validateSeries([series({ __name__: 'up' }, [])], ctx)
    expect(r.accepted).toHaveLength(0)
    expect(r.rejections).toHaveLength(0)
  })

  it('reports the metric name of accepted series', () => {
    expect(validateSeries([series({ __name__: 'node_load1', job: 'n' })], ctx).accepted[0].ref.metricName).toBe('node_load1')
  })
})
