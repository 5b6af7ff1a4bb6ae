import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../observability/logger.js'
import type { MetricMetadata } from '../proto/types.js'
import { MetadataRecorder, storableMetadata, type MetadataWriter } from './metadata-recorder.js'

const m = (metricFamilyName: string, help = ''): MetricMetadata => ({ metricFamilyName, type: 'gauge', help, unit: '' })

/** Keeps what it was given; fails while `failing` is set. */
class RecordingWriter implements MetadataWriter {
  batches: string[][] = []
  failing = false
  async writeMetadata(entries: readonly MetricMetadata[]): Promise<void> {
    if (this.failing) throw new Error('store down')
    this.batches.push(entries.map((e) => `${e.metricFamilyName}:${e.help}`))
  }
}

function recorder(opts: { maxPending?: number } = {}) {
  let now = 1_000_000
  const writer = new RecordingWriter()
  const r = new MetadataRecorder({ writer, logger: silentLogger, registry: new Registry(), refreshMs: 60_000, now: () => now, ...opts })
  return { r, writer, advance: (ms: number) => (now += ms) }
}

describe('MetadataRecorder', () => {
  it('writes an entry once until it changes or its refresh is due', async () => {
    const { r, writer, advance } = recorder()
    r.record([m('a'), m('b'), m('a')])
    await r.flush()
    r.record([m('a'), m('b')])
    await r.flush()
    r.record([m('a', 'new help')])
    await r.flush()
    advance(60_000)
    r.record([m('b')])
    await r.flush()
    expect(writer.batches).toEqual([['a:', 'b:'], ['a:new help'], ['b:']])
  })

  it('keeps entries whose write failed for the next flush', async () => {
    const { r, writer } = recorder()
    writer.failing = true
    r.record([m('a')])
    await r.flush()
    writer.failing = false
    await r.flush()
    expect(writer.batches).toEqual([['a:']])
  })

  it('drops what does not fit while entries wait', async () => {
    const { r, writer } = recorder({ maxPending: 2 })
    r.record([m('a'), m('b'), m('c')])
    await r.flush()
    expect(writer.batches).toEqual([['a:', 'b:']])
  })

  const STORABLE: [string, MetricMetadata, boolean][] = [
    ['a plain family', m('http_requests_total'), true],
    ['a family with colons', m('job:rate5m'), true],
    ['an empty name', m(''), false],
    ['a name starting with a digit', m('1abc'), false],
    ['a name with a space', m('a b'), false],
    ['help over 1024 characters', m('x', 'h'.repeat(1025)), false],
    ['a unit over 1024 characters', { ...m('x'), unit: 'u'.repeat(1025) }, false],
  ]
  for (const [name, entry, want] of STORABLE) it(`${want ? 'stores' : 'refuses'} ${name}`, () => expect(storableMetadata(entry)).toBe(want))
})
