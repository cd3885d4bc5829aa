// A local stand-in for the Slack Web API: a real HTTP server on 127.0.0.1 that speaks the endpoints and payloads the
// official client sends and expects (form-encoded or JSON bodies, a bearer token, `{ ok, … }` answers), records every
// call, and records the posts to `response_url`s it hands out.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';

/** One call the stand-in received. */
export interface RecordedCall {
  /** The Web API method (`chat.postMessage`), or `response` for a post to a response URL. */
  method: string;
  /** The body, parsed; form fields that hold JSON (`blocks`, `view`) are parsed too. */
  body: Record<string, unknown>;
  /** The bearer token sent, if any. */
  token?: string;
  /** For a response URL: its id. */
  responseId?: string;
  at: number;
}

/** A message the stand-in holds, as `chat.update` left it. */
export interface StoredMessage {
  channel: string;
  ts: string;
  text: unknown;
  blocks: unknown;
  updates: number;
}

/** The running stand-in. */
export interface SlackStandIn {
  /** Base URL of the Web API, for `slackApiUrl` (ends with `/api/`). */
  apiUrl: string;
  /** Base URL of the server. */
  url: string;
  /** A fresh response URL that records what is posted to it. */
  responseUrl(id?: string): string;
  calls: RecordedCall[];
  messages: Map<string, StoredMessage>;
  /** Waits for a call matching `method` (and `test`), already recorded or still to come. */
  waitForCall(method: string, test?: (c: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall>;
  /** Makes the next call of `method` answer `{ ok: false, error }`. */
  failNext(method: string, error: string): void;
  close(): Promise<void>;
}

const JSON_FIELDS = new Set(['blocks', 'attachments', 'view', 'metadata']);
const METHODS = new Set(['chat.postMessage', 'chat.update', 'views.open', 'chat.postEphemeral']);

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string, contentType: string): Record<string, unknown> {
  if (contentType.startsWith('application/json')) return JSON.parse(text || '{}') as Record<string, unknown>;
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parseQuery(text))) {
    const v = Array.isArray(value) ? value[0] : value;
    body[key] = JSON_FIELDS.has(key) && typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
  }
  return body;
}

/**
 * Starts the stand-in on a random port.
 * @param options - `token`: the bot token it accepts (default `xoxb-test`)
 * @returns the running stand-in
 */
export async function startSlackStandIn(options: { token?: string } = {}): Promise<SlackStandIn> {
  const token = options.token ?? 'xoxb-test';
  const calls: RecordedCall[] = [];
  const messages = new Map<string, StoredMessage>();
  const failures = new Map<string, string[]>();
  const waiters = new Set<() => void>();
  let seq = 0;
  const nextTs = () => `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, '0')}`;

  const record = (call: RecordedCall) => {
    calls.push(call);
    for (const wake of [...waiters]) wake();
  };

  function answer(method: string, body: Record<string, unknown>): Record<string, unknown> {
    const failing = failures.get(method)?.shift();
    if (failing !== undefined) return { ok: false, error: failing };
    const channel = typeof body['channel'] === 'string' ? body['channel'] : '';
    switch (method) {
      case 'chat.postMessage': {
        if (!/^[CDG][A-Z0-9]+$/.test(channel)) return { ok: false, error: 'channel_not_found' };
        const ts = nextTs();
        messages.set(`${channel}/${ts}`, { channel, ts, text: body['text'], blocks: body['blocks'], updates: 0 });
        return { ok: true, channel, ts, message: { text: body['text'], blocks: body['blocks'] } };
      }
      case 'chat.update': {
        const stored = messages.get(`${channel}/${String(body['ts'])}`);
        if (stored === undefined) return { ok: false, error: 'message_not_found' };
        Object.assign(stored, { text: body['text'], blocks: body['blocks'], updates: stored.updates + 1 });
        return { ok: true, channel, ts: stored.ts, text: body['text'] };
      }
      case 'views.open':
        if (typeof body['trigger_id'] !== 'string') return { ok: false, error: 'invalid_trigger_id' };
        return { ok: true, view: { id: `V${++seq}`, ...(body['view'] as object) } };
      default:
        return { ok: true, channel, message_ts: nextTs() };
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://stand-in').pathname;
    const text = await readBody(req);
    const body = parseBody(text, req.headers['content-type'] ?? '');
    const response = /^\/response\/([\w-]+)$/.exec(path);
    if (req.method === 'POST' && response !== null) {
      record({ method: 'response', body, responseId: response[1] ?? '', at: Date.now() });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const method = /^\/api\/([\w.]+)$/.exec(path)?.[1];
    if (req.method !== 'POST' || method === undefined || !METHODS.has(method)) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ok: false, error: 'unknown_method' }));
      return;
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const sent = bearer ?? (typeof body['token'] === 'string' ? body['token'] : undefined);
    record({ method, body, ...(sent !== undefined ? { token: sent } : {}), at: Date.now() });
    const result =
      sent === undefined
        ? { ok: false, error: 'not_authed' }
        : sent !== token
          ? { ok: false, error: 'invalid_auth' }
          : answer(method, body);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(result));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  let responses = 0;

  return {
    apiUrl: `${url}/api/`,
    url,
    responseUrl: (id) => `${url}/response/${id ?? `r${++responses}`}`,
    calls,
    messages,
    waitForCall(method, test = () => true, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = calls.find((c) => c.method === method && test(c));
          if (found === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for a ${method} call`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    failNext(method, error) {
      failures.set(method, [...(failures.get(method) ?? []), error]);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
