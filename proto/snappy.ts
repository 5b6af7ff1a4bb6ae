/**
 * Snappy block format (the raw format remote write uses, not the framed stream), with a
 * hard cap on the size a body may claim.
 *
 * Shape, and why: the block's varint preamble says how big the output will be, and both
 * libraries allocate that much before looking at the data, so a 20-byte body claiming
 * 4 GB would be a memory bomb; the preamble is read and checked here first.
 * Measured 2026-11-26 (bench/decode.ts, 441 KB body / 49 KB snappy, 2000 samples): the
 * native `snappy` package (uncompressSync), snappyjs and the decoder below all ran at
 * 2.1-2.4M samples/s on a quiet core, within noise of each other. So the default is the
 * decoder below (no native dependency); the native one stays selectable. The decoder is
 * our own, not snappyjs, because snappyjs does not check that the output was filled
 * (a truncated body comes back zero-padded) and steps backwards on a negative
 * literal length.
 */
import { BadRequestError } from '../errors/http-errors.js'

export interface SnappyCodec {
  /** 'native' (the napi `snappy` package) or 'js' (this file's decoder, snappyjs to compress). */
  readonly implementation: 'native' | 'js'
  /** Decompresses a snappy block; BadRequestError if it claims more than maxBytes or is corrupt. */
  uncompress(block: Uint8Array, maxBytes: number): Uint8Array
  compress(data: Uint8Array): Uint8Array
}

/** Reads the uncompressed length from a block's preamble (a varint of at most 32 bits). */
export function snappyUncompressedLength(block: Uint8Array): number {
  let result = 0
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) throw new BadRequestError('snappy: truncated length preamble')
    const b = block[i]
    result += (b & 0x7f) * 2 ** (7 * i)
    if (b < 0x80) {
      if (result > 0xffffffff) break
      return result
    }
  }
  throw new BadRequestError('snappy: length preamble is not a 32-bit varint')
}

function preambleSize(block: Uint8Array): number {
  let i = 0
  while (block[i] >= 0x80) i++
  return i + 1
}

function checkCap(length: number, maxBytes: number): void {
  if (length > maxBytes) {
    throw new BadRequestError(
      `snappy: body decompresses to ${length} bytes, more than the limit of ${maxBytes}`,
    )
  }
}

/** Strict pure-JS block decoder: every read and copy bounds-checked, output must fill exactly. */
export function uncompressSnappyJs(block: Uint8Array, maxBytes: number): Uint8Array {
  const outLen = snappyUncompressedLength(block)
  checkCap(outLen, maxBytes)
  const out = new Uint8Array(outLen)
  const inLen = block.length
  let pos = preambleSize(block)
  let op = 0
  const corrupt = (why: string): never => {
    throw new BadRequestError(`snappy: corrupt block (${why} at input byte ${pos})`)
  }
  while (pos < inLen) {
    const tag = block[pos++]
    const kind = tag & 3
    if (kind === 0) {
      let len = tag >>> 2
      if (len >= 60) {
        const extra = len - 59
        if (pos + extra > inLen) corrupt('truncated literal length')
        len = 0
        for (let k = extra - 1; k >= 0; k--) len = len * 256 + block[pos + k]
        pos += extra
      }
      len += 1
      if (len > inLen - pos) corrupt('literal past the end of the input')
      if (len > outLen - op) corrupt('literal past the declared length')
      if (len < 16) {
        for (let k = 0; k < len; k++) out[op + k] = block[pos + k]
      } else {
        out.set(block.subarray(pos, pos + len), op)
      }
      pos += len
      op += len
      continue
    }
    let len: number
    let offset: number
    if (kind === 1) {
      if (pos >= inLen) corrupt('truncated copy')
      len = ((tag >>> 2) & 7) + 4
      offset = ((tag >>> 5) << 8) | block[pos++]
    } else if (kind === 2) {
      if (pos + 2 > inLen) corrupt('truncated copy')
      len = (tag >>> 2) + 1
      offset = block[pos] | (block[pos + 1] << 8)
      pos += 2
    } else {
      if (pos + 4 > inLen) corrupt('truncated copy')
      len = (tag >>> 2) + 1
      offset = (block[pos] | (block[pos + 1] << 8) | (block[pos + 2] << 16)) + block[pos + 3] * 0x1000000
      pos += 4
    }
    if (offset === 0 || offset > op) corrupt(`copy offset ${offset} outside the output`)
    if (len > outLen - op) corrupt('copy past the declared length')
    let from = op - offset
    if (offset >= len && len >= 16) {
      out.copyWithin(op, from, from + len)
      op += len
    } else {
      // Overlapping copies repeat the last `offset` bytes: byte by byte is the definition.
      const stop = op + len
      while (op < stop) out[op++] = out[from++]
    }
  }
  if (op !== outLen) corrupt(`output is ${op} bytes, the preamble said ${outLen}`)
  return out
}

interface NativeSnappy {
  uncompressSync(input: Uint8Array, options?: { asBuffer?: boolean }): string | Buffer
  compressSync(input: Uint8Array): Buffer
}

interface SnappyJs {
  compress(input: Uint8Array): Uint8Array
}

/** The pure-JS codec: this file's decoder, snappyjs's encoder. */
export async function createJsSnappyCodec(): Promise<SnappyCodec> {
  const snappyjs = (await import('snappyjs')) as unknown as SnappyJs & { default?: SnappyJs }
  const lib = typeof snappyjs.compress === 'function' ? snappyjs : snappyjs.default!
  return {
    implementation: 'js',
    uncompress: uncompressSnappyJs,
    compress: (data) => lib.compress(data),
  }
}

function nativeCodec(lib: NativeSnappy): SnappyCodec {
  return {
    implementation: 'native',
    uncompress(block, maxBytes) {
      const outLen = snappyUncompressedLength(block)
      checkCap(outLen, maxBytes)
      let out: string | Buffer
      try {
        out = lib.uncompressSync(block, { asBuffer: true })
      } catch (err) {
        throw new BadRequestError(`snappy: corrupt block (${String(err).slice(0, 100)})`, { cause: err })
      }
      if (typeof out === 'string' || out.length !== outLen) {
        throw new BadRequestError(`snappy: corrupt block (output differs from the declared ${outLen} bytes)`)
      }
      return out
    },
    compress: (data) => lib.compressSync(data),
  }
}

/**
 * The codec to use: pure JS by default (measured as fast as native, see above);
 * `prefer: 'native'` loads the napi `snappy` package (a devDependency) and falls back
 * to JS when it has no binary for this platform.
 */
export async function createSnappyCodec(options: { prefer?: 'native' | 'js' } = {}): Promise<SnappyCodec> {
  if (options.prefer === 'native') {
    try {
      const mod = (await import('snappy')) as unknown as NativeSnappy & { default?: NativeSnappy }
      const lib = typeof mod.uncompressSync === 'function' ? mod : mod.default
      if (lib !== undefined && typeof lib.uncompressSync === 'function') return nativeCodec(lib)
    } catch {
      // No prebuilt binary for this platform: fall through to pure JS.
    }
  }
  return createJsSnappyCodec()
}
