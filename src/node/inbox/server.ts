import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { z } from 'zod';
import { reviewerInbox } from '../client/inbox-data';
import type { SigningKey } from '../identity/keys';
import type { PolicyBook } from '../policy-book';
import { formatZodError } from '../../shared/zod-format';
import { decideAsReviewer, DecideBodySchema, resumeAsReviewer, ResumeBodySchema, type Signer } from './actions';
import { PreviewRequestSchema, previewEdit, toolJsonSchemas } from './edit-preview';
import {
  BodyError,
  hostAllowed,
  newToken,
  originAllowed,
  readJsonBody,
  SECURITY_HEADERS,
  send,
  sendJson,
  tokenMatches,
} from './http-guard';
import { INBOX_ASSETS, inboxPage } from './page';
import { inboxView, type InboxView } from './view-model';

/** Options of {@link startInboxServer}. */
export interface InboxServerOptions {
  /** A connected client; the server does not close it. */
  client: Client;
  /** Whose inbox: every decision is signed as this person. */
  reviewer: string;
  /** The reviewer's signing key. */
  key: SigningKey;
  /** The policies this host knows, for the gate an edit would get. */
  policies: PolicyBook;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** How often the server reads Temporal for changes, in ms (default 1000). */
  pollMs?: number;
  /** Called with an error the poller met (e.g. Temporal unreachable); it keeps polling. */
  onError?: (err: unknown) => void;
}

/** A running inbox. */
export interface InboxServer {
  /** The address to open, with the token: only whoever has it may see the inbox or act in it. */
  url: string;
  port: number;
  /** Stops polling, ends the live streams and closes the server. */
  close(): Promise<void>;
}

/**
 * Serves one reviewer's inbox on 127.0.0.1: the page (only with the token in its address), its state as JSON, live
 * updates as server-sent events, and the actions, each signed with the reviewer's key. Every request must name the
 * server by its loopback address; every POST must carry the token in `X-Hitl-Token` and come from the page's origin.
 * @param options - see {@link InboxServerOptions}
 * @returns the running server and its address
 * @throws Error when the port cannot be bound
 * @example const inbox = await startInboxServer({ client, reviewer: 'sam', key, policies, port: 0 });
 */
export async function startInboxServer(options: InboxServerOptions): Promise<InboxServer> {
  const token = newToken();
  const signer: Signer = { client: options.client, reviewer: options.reviewer, key: options.key };
  const schemas = toolJsonSchemas();
  const streams = new Set<ServerResponse>();
  let current: { view: InboxView; json: string } | undefined;
  let problem: string | undefined;
  let polling: Promise<void> | undefined;
  let closed = false;
  let port = options.port;

  const refresh = (): Promise<void> => {
    polling ??= (async () => {
      try {
        const { inbox, unread } = await reviewerInbox(options.client, options.reviewer);
        const view = inboxView(inbox, unread);
        const json = JSON.stringify(view);
        problem = undefined;
        if (json !== current?.json) {
          current = { view, json };
          for (const res of streams) res.write(`event: state\ndata: ${json}\n\n`);
        }
      } catch (err) {
        options.onError?.(err);
        // The page says so instead of showing a stale or empty inbox as if it were current.
        const text = JSON.stringify(`cannot read the runs: ${err instanceof Error ? err.message : String(err)}`);
        if (text !== problem) for (const res of streams) res.write(`event: problem\ndata: ${text}\n\n`);
        problem = text;
        current = undefined;
      } finally {
        polling = undefined;
      }
    })();
    return polling;
  };
  const timer = setInterval(() => void refresh(), options.pollMs ?? 1000);

  const act = async <S extends z.ZodType>(
    req: IncomingMessage,
    res: ServerResponse,
    schema: S,
    run: (body: z.infer<S>) => unknown,
  ): Promise<void> => {
    const parsed = schema.safeParse(await readJsonBody(req));
    if (!parsed.success) return sendJson(res, 400, { ok: false, refused: false, reason: formatZodError(parsed.error) });
    sendJson(res, 200, await run(parsed.data));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hostAllowed(req, port)) return send(res, 421, 'text/plain', 'address the inbox as 127.0.0.1 or localhost');
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (req.method === 'GET') {
      const asset = INBOX_ASSETS.get(url.pathname);
      if (asset !== undefined) return send(res, 200, asset.type, asset.body);
      if (url.pathname === '/') {
        if (!tokenMatches(url.searchParams.get('t'), token)) {
          return send(res, 403, 'text/plain', 'open the address that hitl inbox printed (it carries the token)');
        }
        return send(res, 200, 'text/html; charset=utf-8', inboxPage({ token, reviewer: options.reviewer, schemas }));
      }
      if (url.pathname === '/events') {
        if (!tokenMatches(url.searchParams.get('t'), token)) return send(res, 403, 'text/plain', 'token required');
        res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream', Connection: 'keep-alive' });
        streams.add(res);
        req.on('close', () => streams.delete(res));
        if (current !== undefined) res.write(`event: state\ndata: ${current.json}\n\n`);
        else if (problem !== undefined) res.write(`event: problem\ndata: ${problem}\n\n`);
        else void refresh();
        return;
      }
      return send(res, 404, 'text/plain', 'not found');
    }
    if (req.method !== 'POST') return send(res, 405, 'text/plain', 'GET or POST');
    if (!originAllowed(req, port)) return send(res, 403, 'text/plain', 'cross-origin request refused');
    const presented = req.headers['x-hitl-token'];
    if (!tokenMatches(typeof presented === 'string' ? presented : undefined, token)) {
      return send(res, 403, 'text/plain', 'token required');
    }
    if (url.pathname === '/api/preview')
      return act(req, res, PreviewRequestSchema, (b) => previewEdit(options.policies, b));
    if (url.pathname === '/api/decide') {
      return act(req, res, DecideBodySchema, async (b) => {
        const outcome = await decideAsReviewer(signer, b);
        await refresh();
        return outcome;
      });
    }
    if (url.pathname === '/api/resume') {
      return act(req, res, ResumeBodySchema, async (b) => {
        const outcome = await resumeAsReviewer(signer, b);
        await refresh();
        return outcome;
      });
    }
    return send(res, 404, 'text/plain', 'not found');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof BodyError ? err.status : 502;
      const reason = err instanceof Error ? err.message : String(err);
      if (!res.headersSent) sendJson(res, status, { ok: false, refused: false, reason });
      else res.end();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  void refresh();
  return {
    url: `http://127.0.0.1:${port}/?t=${token}`,
    port,
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      for (const res of streams) res.end();
      streams.clear();
      await polling;
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
    },
  };
}
