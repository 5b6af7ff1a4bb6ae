/**
 * Decodes a compiled statement's result (statement.ts: rows `name String, labels
 * Map(String, String), v Array(Float64), p Array(UInt8)`) from ClickHouse's RowBinary.
 *
 * Why RowBinary: the grids are arrays of doubles, which RowBinary sends as their 8 raw bytes
 * (NaN payloads and infinities intact, no text to parse); labels are length-prefixed UTF-8.
 * Measured on the 20k-series dashboard of bench/query.ts (bench/README.md): see there for
 * the comparison with JSONCompactColumns and Native.
 */
import type { GridSeries, Labels } from '../../promql/api.js'

class Reader {
  pos = 0
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length
  }

  varint(): number {
    let result = 0
    let shift = 0
    for (;;) {
      const b = this.buf[this.pos++]
      if (b === undefined) throw new Error('RowBinary: truncated varint')
      result += (b & 0x7f) * 2 ** shift
      if (b < 0x80) return result
      shift += 7
    }
  }

  string(): string {
    const len = this.varint()
    const s = this.buf.toString('utf8', this.pos, this.pos + len)
    this.pos += len
    if (this.pos > this.buf.length) throw new Error('RowBinary: truncated string')
    return s
  }

  float64Array(n: number): Float64Array {
    const out = new Float64Array(n)
    for (let i = 0; i < n; i++) out[i] = this.buf.readDoubleLE(this.pos + 8 * i)
    this.pos += 8 * n
    return out
  }

  uint8Array(n: number): Uint8Array {
    const out = Uint8Array.from(this.buf.subarray(this.pos, this.pos + n))
    this.pos += n
    return out
  }
}

/** Repeats a one-step grid `repeat` times (a subtree pinned by `@`). */
function repeated<T extends Float64Array | Uint8Array>(a: T, repeat: number, make: (n: number) => T): T {
  if (repeat === 1) return a
  const out = make(repeat)
  out.fill(a[0] as never)
  return out
}

export function decodeGridRows(buf: Buffer, opts: { steps: number; repeat: number; dropName: boolean }): GridSeries[] {
  const r = new Reader(buf)
  const out: GridSeries[] = []
  while (!r.done) {
    const name = r.string()
    const labels: Record<string, string> = name === '' ? {} : { __name__: name }
    const pairs = r.varint()
    for (let i = 0; i < pairs; i++) {
      const k = r.string()
      labels[k] = r.string()
    }
    const nv = r.varint()
    const values = r.float64Array(nv)
    const np = r.varint()
    const present = r.uint8Array(np)
    if (nv !== opts.steps || np !== opts.steps) throw new Error(`RowBinary: a grid of ${nv}/${np} steps, expected ${opts.steps}`)
    out.push({
      labels: labels as Labels,
      dropName: opts.dropName,
      values: repeated(values, opts.repeat, (n) => new Float64Array(n)),
      present: repeated(present, opts.repeat, (n) => new Uint8Array(n)),
    })
  }
  return out
}
