import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FlushCheckpoint } from './checkpoint.js'
import { makeTempDir } from './test-fixtures.js'

let tmp: Awaited<ReturnType<typeof makeTempDir>>
beforeEach(async () => {
  tmp = await makeTempDir()
})
afterEach(async () => {
  await tmp.remove()
})

const FILE = 'flush-checkpoint.json'

describe('FlushCheckpoint', () => {
  it('starts at 0:0 with nothing in flight', async () => {
    const cp = await FlushCheckpoint.open(join(tmp.dir, 'new'))
    expect(cp.get()).toEqual({ committed: { segment: 0, offset: 0 } })
  })

  it('keeps in-flight ranges and commits across reopen', async () => {
    const cp = await FlushCheckpoint.open(tmp.dir)
    await cp.setInFlight({ segment: 0, offset: 0 }, { segment: 1, offset: 100 })
    expect((await FlushCheckpoint.open(tmp.dir)).get()).toEqual({
      committed: { segment: 0, offset: 0 },
      inFlight: { from: { segment: 0, offset: 0 }, to: { segment: 1, offset: 100 } },
    })
    await cp.commit({ segment: 1, offset: 100 })
    expect((await FlushCheckpoint.open(tmp.dir)).get()).toEqual({ committed: { segment: 1, offset: 100 } })
    expect(await readdir(tmp.dir)).toEqual([FILE])
  })

  it('ignores and removes a tmp file a crash left behind (the old state stands)', async () => {
    const cp = await FlushCheckpoint.open(tmp.dir)
    await cp.commit({ segment: 2, offset: 40 })
    // A crash between writing the tmp file and renaming it: half-written new state.
    await writeFile(join(tmp.dir, FILE + '.tmp'), '{"version":1,"committed":{"segm')
    const reopened = await FlushCheckpoint.open(tmp.dir)
    expect(reopened.get()).toEqual({ committed: { segment: 2, offset: 40 } })
    expect(await readdir(tmp.dir)).toEqual([FILE])
  })

  it('serialises concurrent writes so the last one called wins', async () => {
    const cp = await FlushCheckpoint.open(tmp.dir)
    await Promise.all([
      cp.setInFlight({ segment: 0, offset: 0 }, { segment: 0, offset: 10 }),
      cp.commit({ segment: 0, offset: 10 }),
      cp.setInFlight({ segment: 0, offset: 10 }, { segment: 0, offset: 20 }),
    ])
    const stored = JSON.parse(await readFile(join(tmp.dir, FILE), 'utf8'))
    expect(stored.inFlight).toEqual({ from: { segment: 0, offset: 10 }, to: { segment: 0, offset: 20 } })
    expect(cp.get()).toEqual({ committed: stored.committed, inFlight: stored.inFlight })
  })

  const refused = [
    { name: 'a commit that goes backwards', act: (cp: FlushCheckpoint) => cp.commit({ segment: 0, offset: 5 }) },
    {
      name: 'an in-flight range that ends before it starts',
      act: (cp: FlushCheckpoint) => cp.setInFlight({ segment: 1, offset: 50 }, { segment: 1, offset: 10 }),
    },
    {
      name: 'an in-flight range before the committed position',
      act: (cp: FlushCheckpoint) => cp.setInFlight({ segment: 0, offset: 0 }, { segment: 1, offset: 10 }),
    },
  ]
  for (const r of refused) {
    it(`refuses ${r.name} and keeps the stored state`, async () => {
      const cp = await FlushCheckpoint.open(tmp.dir)
      await cp.commit({ segment: 1, offset: 0 })
      await expect(r.act(cp)).rejects.toBeInstanceOf(RangeError)
      expect(cp.get()).toEqual({ committed: { segment: 1, offset: 0 } })
      expect((await FlushCheckpoint.open(tmp.dir)).get()).toEqual({ committed: { segment: 1, offset: 0 } })
      await cp.commit({ segment: 1, offset: 9 }) // still usable
    })
  }

  const unreadable = [
    { name: 'not JSON', text: '{"version":1,', message: /not JSON/ },
    { name: 'an unknown version', text: '{"version":7,"committed":{"segment":0,"offset":0}}', message: /unknown version/ },
    { name: 'a bad position', text: '{"version":1,"committed":{"segment":-1,"offset":0}}', message: /not a position/ },
  ]
  for (const u of unreadable) {
    it(`fails to open a checkpoint that is ${u.name}, naming the file`, async () => {
      await writeFile(join(tmp.dir, FILE), u.text)
      await expect(FlushCheckpoint.open(tmp.dir)).rejects.toThrow(u.message)
      await expect(FlushCheckpoint.open(tmp.dir)).rejects.toThrow(FILE)
    })
  }
})
