/**
 * Gathers per-step results into output series by label set, as Prometheus's rangeEval does:
 * in a range query two results with the same labels at the same step are an error; in an
 * instant query they are kept apart (delayed name removal checks them when the query ends).
 */
import type { Labels } from '../api.js'
import { PromQLExecutionError } from '../api.js'
import type { Grid } from './values.js'
import { labelsKey, VSeries } from './values.js'

export class OutputCollector {
  private readonly byKey = new Map<string, VSeries[]>()
  private readonly order: VSeries[] = []
  private readonly keyCache = new WeakMap<Labels, string>()

  /** Prometheus treats a grid whose start equals its end as an instant evaluation. */
  private readonly isRange: boolean

  /**
   * `onNewSeries(points)` is told of every output series before it is allocated, so an
   * aggregation whose output can outgrow its input (count_values: one series per distinct
   * value) is stopped by the sample limit before it takes the memory.
   */
  constructor(
    private readonly g: Grid,
    private readonly onNewSeries?: (points: number) => void,
  ) {
    this.isRange = g.start !== g.end
  }

  keyOf(labels: Labels): string {
    let k = this.keyCache.get(labels)
    if (k === undefined) {
      k = labelsKey(labels)
      this.keyCache.set(labels, k)
    }
    return k
  }

  add(labels: Labels, dropName: boolean, step: number, value: number): void {
    const key = this.keyOf(labels)
    let list = this.byKey.get(key)
    if (!list) {
      list = []
      this.byKey.set(key, list)
    }
    let target: VSeries | undefined
    for (const s of list) {
      if (!s.present[step]) { target = s; break }
    }
    if (!target) {
      if (list.length > 0 && this.isRange) throw new PromQLExecutionError('vector cannot contain metrics with the same labelset')
      this.onNewSeries?.(this.g.n)
      target = VSeries.empty(labels, dropName, this.g.n)
      list.push(target)
      this.order.push(target)
    }
    target.values[step] = value
    target.present[step] = 1
  }

  series(): VSeries[] {
    return this.order
  }
}
