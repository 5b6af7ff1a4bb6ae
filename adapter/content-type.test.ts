import { describe, expect, it } from 'vitest'
import { UnsupportedMediaTypeError } from '../errors/http-errors.js'
import { remoteWriteVersion } from './content-type.js'

describe('remoteWriteVersion', () => {
  const ok: [string | undefined, string, '1.0' | '2.0'][] = [
    ['application/x-protobuf', 'snappy', '1.0'],
    [undefined, 'snappy', '1.0'],
    ['application/x-protobuf;proto=prometheus.WriteRequest', 'snappy', '1.0'],
    ['application/x-protobuf; proto=io.prometheus.write.v2.Request', 'snappy', '2.0'],
    ['Application/X-Protobuf; proto="io.prometheus.write.v2.Request"', 'Snappy', '2.0'],
  ]
  for (const [type, encoding, want] of ok) it(`reads ${type} / ${encoding} as ${want}`, () => expect(remoteWriteVersion(type, encoding)).toBe(want))

  const refused: [string | undefined, string | undefined, RegExp][] = [
    ['application/x-protobuf', undefined, /Content-Encoding ""/],
    ['application/x-protobuf', 'gzip', /Content-Encoding "gzip"/],
    ['text/plain', 'snappy', /Content-Type "text\/plain"/],
    ['application/x-protobuf;proto=io.prometheus.write.v3.Request', 'snappy', /unsupported remote-write message/],
  ]
  for (const [type, encoding, message] of refused) {
    it(`answers 415 for ${type} / ${encoding}`, () => {
      expect(() => remoteWriteVersion(type, encoding)).toThrow(UnsupportedMediaTypeError)
      expect(() => remoteWriteVersion(type, encoding)).toThrow(message)
    })
  }
})
