/**
 * Local stand-ins for where Alertmanager delivers notifications: an HTTP webhook receiver,
 * an HTTP endpoint speaking PagerDuty's Events API v2 (`pagerduty_configs[].url` points at
 * it), and an SMTP server (npm smtp-server) that keeps every mail. Each records what arrived.
 */
import { createServer, type Server } from 'node:http'
import { SMTPServer } from 'smtp-server'
import { freePort } from './free-port.js'

export interface ReceivedHttp {
  path: string
  body: unknown
}

export class HttpSink {
  private constructor(
    readonly url: string,
    private readonly server: Server,
    readonly received: ReceivedHttp[],
  ) {}

  /** `status` answers every request (202 is what PagerDuty's Events API answers). */
  static async start(status = 200): Promise<HttpSink> {
    const port = await freePort()
    const received: ReceivedHttp[] = []
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: unknown = text
        try {
          body = JSON.parse(text)
        } catch {
          // keep the text
        }
        received.push({ path: req.url ?? '', body })
        res.writeHead(status, { 'content-type': 'application/json' }).end('{"status":"success","message":"Event processed"}')
      })
    })
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    return new HttpSink(`http://127.0.0.1:${port}`, server, received)
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

export interface ReceivedMail {
  from: string
  to: string[]
  data: string
}

export class SmtpSink {
  private constructor(
    readonly port: number,
    private readonly server: SMTPServer,
    readonly received: ReceivedMail[],
  ) {}

  static async start(): Promise<SmtpSink> {
    const port = await freePort()
    const received: ReceivedMail[] = []
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = []
        stream.on('data', (c: Buffer) => chunks.push(c))
        stream.on('end', () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            data: Buffer.concat(chunks).toString('utf8'),
          })
          callback()
        })
      },
    })
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    return new SmtpSink(port, server, received)
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
