// Node-only: an HTTP server.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { formatZodError } from '../../shared/zod-format';

/** Largest request body the codec server reads (bytes): above Temporal's 2 MiB payload limit, with room for base64. */
export const MAX_CODEC_BODY_BYTES = 8 * 2 ** 20;

/** Most payloads in one request. */
const MAX_PAYLOADS = 10_000;

const Base64 = z
  .string()
  .max(MAX_CODEC_BODY_BYTES)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64');

const PayloadsBody = z.object({
  payloads: z
    .array(z.object({ metadata: z.record(z.string().max(256), Base64).optional(), data: Base64.optional() }))
    .max(MAX_PAYLOADS),
});

/** Options of {@link startCodecServer}. */
export interface CodecServerOptions {
  /** The codec the server applies. */
  codec: PayloadCodec;
  /** The bearer tokens accepted in the `Authorization` header (at least one; compared in constant time). */
  tokens: readonly string[];
  /** Origins allowed to call from a browser (the Web UI's, e.g. `http://localhost:8233`); CORS answers only these. */
  origins: readonly string[];
  /** The namespaces served; a request whose `X-Namespace` names another is refused. Default: any. */
  namespaces?: readonly string[];
  /** Interface to listen on (default `127.0.0.1`). */
  host?: string;
  /** Port (default 8081; 0 picks a free one). */
  port?: number;
}

/** A running codec server. */
export interface CodecServer {
  /** Base URL, e.g. `http://127.0.0.1:8081`: the `--codec-endpoint` of the `temporal` CLI and the Web UI's setting. */
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * Starts a codec server: `POST /encode` and `POST /decode` take `{ "payloads": [{ "metadata": {…}, "data": "…" }] }`
 * (bytes as base64, the JSON form of Temporal's `Payloads`) and answer the same shape, as Temporal's "Codec Server"
 * documentation describes for the Web UI and the `temporal` CLI. Every request needs `Authorization: Bearer TOKEN`
 * (401 without, 403 with a wrong one); a browser's preflight (`OPTIONS`) is answered for the configured origins only,
 * allowing the `Authorization`, `Content-Type` and `X-Namespace` headers and credentials. Bodies above
 * {@link MAX_CODEC_BODY_BYTES} get 413; malformed bodies 400 with the reason; a payload the codec refuses (unknown key,
 * tampered) 422 with the codec's message.
 * @param options - see {@link CodecServerOptions}
 * @returns the running server
 * @throws Error when no token is given or the port is taken
 */
export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  if (options.tokens.length === 0 || options.tokens.some((t) => t.length < 16)) {
    throw new Error('the codec server needs at least one bearer token of 16 characters or more');
  }
  const tokens = options.tokens.map((t) => Buffer.from(t));
  const server = createServer((req, res) => {
    handle(req, res, options, tokens).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, { message: `codec server error: ${(err as Error).message}` });
      else res.destroy();
    });
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8081, options.host ?? '127.0.0.1', () => resolvePromise());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolvePromise) => {
        server.close(() => resolvePromise());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: CodecServerOptions,
  tokens: readonly Buffer[],
): Promise<void> {
  const origin = req.headers.origin;
  if (origin !== undefined && options.origins.includes(origin)) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Vary', 'Origin');
  }
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'OPTIONS') {
    if (origin === undefined || !options.origins.includes(origin))
      return reply(res, 403, { message: 'origin not allowed' });
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Namespace');
    res.setHeader('Access-Control-Max-Age', '600');
    res.writeHead(204).end();
    return;
  }
  if (path !== '/encode' && path !== '/decode') return reply(res, 404, { message: 'use POST /encode or POST /decode' });
  if (req.method !== 'POST') return reply(res, 405, { message: `${path} takes POST` });
  const auth = req.headers.authorization;
  if (auth === undefined || !auth.startsWith('Bearer ')) {
    res.setHeader('WWW-Authenticate', 'Bearer');
    return reply(res, 401, { message: 'a bearer token is required (Authorization: Bearer TOKEN)' });
  }
  const given = Buffer.from(auth.slice('Bearer '.length).trim());
  if (!tokens.some((t) => t.length === given.length && timingSafeEqual(t, given))) {
    return reply(res, 403, { message: 'the bearer token is not accepted' });
  }
  const namespace = req.headers['x-namespace'];
  if (options.namespaces !== undefined && typeof namespace === 'string' && !options.namespaces.includes(namespace)) {
    return reply(res, 403, { message: `namespace "${namespace}" is not served here` });
  }
  const body = await readBody(req, MAX_CODEC_BODY_BYTES);
  if (body === undefined) return reply(res, 413, { message: `the body is over ${MAX_CODEC_BODY_BYTES} bytes` });
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return reply(res, 400, { message: `the body is not JSON: ${(err as Error).message}` });
  }
  const parsed = PayloadsBody.safeParse(json);
  if (!parsed.success) return reply(res, 400, { message: `bad payloads: ${formatZodError(parsed.error)}` });
  const payloads: Payload[] = parsed.data.payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  }));
  let out: Payload[];
  try {
    out = path === '/encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
  } catch (err) {
    return reply(res, 422, { message: (err as Error).message });
  }
  reply(res, 200, {
    payloads: out.map((p) => ({
      metadata: Object.fromEntries(
        Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
    })),
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

/** The request body, or `undefined` once it passes `limit` bytes (the rest is not read). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
