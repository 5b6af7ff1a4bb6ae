/**
 * Which remote-write version a request carries, from its headers (remote-write 2.0 spec:
 * the `proto` parameter of Content-Type; absent means 1.0). Only snappy block
 * compression is accepted, as both specs require of senders.
 */
import { UnsupportedMediaTypeError } from '../errors/http-errors.js'

export type RemoteWriteVersion = '1.0' | '2.0'

export function remoteWriteVersion(contentType: string | undefined, contentEncoding: string | undefined): RemoteWriteVersion {
  const encoding = (contentEncoding ?? '').trim().toLowerCase()
  if (encoding !== 'snappy') {
    throw new UnsupportedMediaTypeError(`unsupported Content-Encoding "${encoding.slice(0, 40)}": remote write must be snappy-compressed`)
  }
  const [mediaType, ...params] = (contentType ?? 'application/x-protobuf').split(';').map((p) => p.trim())
  if (mediaType.toLowerCase() !== 'application/x-protobuf') {
    throw new UnsupportedMediaTypeError(`unsupported Content-Type "${mediaType.slice(0, 60)}": expected application/x-protobuf`)
  }
  let proto = 'prometheus.WriteRequest'
  for (const p of params) {
    const eq = p.indexOf('=')
    if (eq > 0 && p.slice(0, eq).trim().toLowerCase() === 'proto') proto = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1')
  }
  if (proto === 'prometheus.WriteRequest') return '1.0'
  if (proto === 'io.prometheus.write.v2.Request') return '2.0'
  throw new UnsupportedMediaTypeError(`unsupported remote-write message "${proto.slice(0, 60)}": expected prometheus.WriteRequest or io.prometheus.write.v2.Request`)
}
