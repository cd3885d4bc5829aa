// Local receivers for notifications, on 127.0.0.1: a webhook endpoint that checks each request's signature the way a
// receiver should, and an SMTP server that keeps what it is sent. The demo starts them with `--receivers`; the tests
// use them as the real servers a channel talks to.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** One webhook request as it arrived. */
export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  /** The parsed JSON body. */
  json: unknown;
  /** Whether the signature header matched the body and timestamp under the shared secret. */
  verified: boolean;
  /** `performance.now()` when it arrived. */
  at: number;
  /** When it arrived, ms since the epoch. */
  receivedAt: number;
}

/** A webhook receiver: answers `status` (200 by default) to every POST, and keeps every request. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** Told of each request as it arrives (the demo prints it). */
  onReceive: (received: ReceivedWebhook) => void = () => undefined;
  /** What the receiver answers; set to 500 to make deliveries fail, or `hang` to never answer. */
  answer: number | 'hang' = 200;
  readonly #server: Server;
  readonly #secret: string;

  private constructor(server: Server, secret: string) {
    this.#server = server;
    this.#secret = secret;
  }

  /** Starts a receiver on a free port of 127.0.0.1 that verifies signatures made with `secret`. */
  static async start(secret: string): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server, secret);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = raw.toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        const received: ReceivedWebhook = {
          headers: req.headers,
          body,
          json,
          verified: receiver.verify(req.headers, raw),
          at: performance.now(),
          receivedAt: Date.now(),
        };
        receiver.received.push(received);
        receiver.onReceive(received);
        if (receiver.answer === 'hang') return;
        res.writeHead(receiver.answer).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  /** The URL to configure as the channel's `url`. */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hitl`;
  }

  /**
   * Checks a request's signature as docs/notifications.md tells a receiver to: recompute the HMAC-SHA256 of
   * `{timestamp}.{body}`, compare in constant time, and refuse a timestamp more than 5 minutes off.
   */
  verify(headers: IncomingHttpHeaders, raw: Buffer): boolean {
    const timestamp = headers['x-hitl-timestamp'];
    const signature = headers['x-hitl-signature'];
    if (typeof timestamp !== 'string' || typeof signature !== 'string') return false;
    if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
    const expected = Buffer.from(
      `v1=${createHmac('sha256', this.#secret).update(`${timestamp}.`).update(raw).digest('hex')}`,
    );
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Stops the receiver (and drops requests it left hanging). */
  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** One email as the SMTP server received it. */
export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  messageId: string;
  at: number;
  /** When it arrived, ms since the epoch. */
  receivedAt: number;
}

/** An SMTP server on 127.0.0.1 that accepts every message (no TLS, no login) and keeps it. */
export class LocalMailServer {
  readonly received: ReceivedMail[] = [];
  /** Told of each message as it arrives (the demo prints it). */
  onReceive: (mail: ReceivedMail) => void = () => undefined;
  readonly #server: SMTPServer;
  #port = 0;

  private constructor() {
    this.#server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then((mail) => {
            const got: ReceivedMail = {
              from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: mail.subject ?? '',
              text: mail.text ?? '',
              messageId: mail.messageId ?? '',
              at: performance.now(),
              receivedAt: Date.now(),
            };
            this.received.push(got);
            this.onReceive(got);
            callback();
          })
          .catch((err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
      },
    });
  }

  /** Starts the server on a free port. */
  static async start(): Promise<LocalMailServer> {
    const self = new LocalMailServer();
    await new Promise<void>((resolve) => self.#server.listen(0, '127.0.0.1', resolve));
    self.#port = (self.#server.server.address() as AddressInfo).port;
    return self;
  }

  /** The URL to configure as the channel's `smtp`. */
  get url(): string {
    return `smtp://127.0.0.1:${this.#port}`;
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
