/**
 * Bearer-token and basic authentication, the two schemes Prometheus's remote_write and
 * Grafana speak. With no credential configured every request passes (the embedded
 * default on a laptop); with one configured, every route behind this middleware needs it.
 */
import { timingSafeEqual, createHash } from 'node:crypto'
import type { NextFunction, Request, Response } from 'express'
import type { AuthConfig } from '../config/config.js'
import { UnauthorizedError } from '../errors/http-errors.js'

// Hash both sides first so the comparison takes the same time whatever the lengths.
function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest()
  const hb = createHash('sha256').update(b).digest()
  return timingSafeEqual(ha, hb)
}

export function authEnabled(auth: AuthConfig): boolean {
  return auth.bearerToken !== undefined || auth.basicUsername !== undefined
}

export function checkAuthorization(header: string | undefined, auth: AuthConfig): boolean {
  if (!authEnabled(auth)) return true
  if (!header) return false
  const space = header.indexOf(' ')
  if (space < 0) return false
  const scheme = header.slice(0, space).toLowerCase()
  // Only HTTP's own optional white space (space, tab) is stripped: String.trim() would also
  // strip a no-break space and turn `Bearer <nbsp>` into an empty credential.
  const credential = header.slice(space + 1).replace(/^[ \t]+|[ \t]+$/g, '')
  if (credential === '') return false
  if (scheme === 'bearer' && auth.bearerToken !== undefined) return auth.bearerToken !== '' && sameSecret(credential, auth.bearerToken)
  if (scheme === 'basic' && auth.basicUsername !== undefined) {
    const decoded = Buffer.from(credential, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return false
    const userOk = sameSecret(decoded.slice(0, colon), auth.basicUsername)
    const passOk = sameSecret(decoded.slice(colon + 1), auth.basicPassword ?? '')
    // Configuration refuses empty credentials; this refuses them again at the door.
    return userOk && passOk && auth.basicUsername !== '' && (auth.basicPassword ?? '') !== ''
  }
  return false
}

export function requireAuth(auth: AuthConfig) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (checkAuthorization(req.headers.authorization, auth)) return next()
    const schemes = [auth.bearerToken !== undefined ? 'Bearer realm="metrichouse"' : undefined, auth.basicUsername !== undefined ? 'Basic realm="metrichouse"' : undefined]
    res.setHeader('WWW-Authenticate', schemes.filter(Boolean).join(', '))
    next(new UnauthorizedError('missing or invalid credentials'))
  }
}
