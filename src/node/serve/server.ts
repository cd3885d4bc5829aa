// Node-only: the HTTP server of `hitl serve`. `POST /slack/actions` takes Slack's interactivity requests: signed,
// fresh, not seen before and of bounded size, or refused with 401 before anything reaches Temporal.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { logger } from '../logger';
import { SlackBridge, type SlackBridgeOptions, type SlackHandling } from './slack-actions';
import { parseSlackPayload } from './slack-payload';
import { ReplayGuard, verifySlackRequest } from './slack-signature';

const log = logger.child({ component: 'hitl-serve' });

/** The largest request body taken, in bytes: a button press with its message's blocks fits easily. */
export const MAX_SLACK_BODY_BYTES = 256 * 1024;

/** What `hitl serve` runs with. */
export interface ServeOptions extends SlackBridgeOptions {
  /** The Slack app's signing secret. */
  signingSecret: string;
  /** Listen here (default 127.0.0.1). */
  host?: string;
  /** Listen on this port (default 0: any free port). */
  port?: number;
  /** The clock, in ms since the epoch (tests move it). */
  now?: () => number;
}

/** A running server. */
export interface RunningServe {
  /** `http://host:port`. */
  url: string;
  server: Server;
  /** Settles when the follow-ups of all interactions taken so far are done (tests, shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Starts `hitl serve`'s HTTP server.
 * @param options - the bridge's settings, the signing secret, where to listen
 * @returns the running server
 * @throws Error when it cannot listen (the port is taken)
 */
export async function startServe(options: ServeOptions): Promise<RunningServe> {
  const bridge = new SlackBridge(options);
  const replays = new ReplayGuard();
  const now = options.now ?? Date.now;
  const inFlight = new Set<Promise<void>>();

  const send = (res: ServerResponse, status: number, body?: Record<string, unknown> | string) => {
    if (body === undefined) res.writeHead(status).end();
    else if (typeof body === 'string') res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
    else res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://serve').pathname;
    if (path !== '/slack/actions') return send(res, 404, 'not found');
    if (req.method !== 'POST') return send(res, 405, 'POST only');
    let body: Buffer;
    try {
      body = await readBody(req, MAX_SLACK_BODY_BYTES);
    } catch (err) {
      if (err instanceof BodyTooLarge) return send(res, 413, 'body too large');
      throw err;
    }
    const verdict = verifySlackRequest(
      { timestamp: header(req, 'x-slack-request-timestamp'), signature: header(req, 'x-slack-signature'), body },
      options.signingSecret,
      replays,
      now(),
    );
    if (!verdict.ok) {
      log.warn({ reason: verdict.reason }, 'refused a Slack request');
      return send(res, 401, verdict.reason);
    }
    const parsed = parseSlackPayload(body.toString('utf8'));
    if (parsed === undefined) return send(res, 400, 'not an interaction payload');
    if ('other' in parsed) return send(res, 200);
    const handling: SlackHandling =
      parsed.payload.type === 'block_actions'
        ? bridge.onBlockActions(parsed.payload)
        : await bridge.onViewSubmission(parsed.payload);
    inFlight.add(handling.done);
    void handling.done.finally(() => inFlight.delete(handling.done));
    send(res, 200, handling.ack.body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'a Slack request failed');
      if (!res.headersSent) send(res, 500, 'internal error');
    });
  });
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([err]) => {
      throw err as Error;
    }),
  ]);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    server,
    idle: async () => {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
