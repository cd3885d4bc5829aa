import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The largest request body the inbox reads, in bytes (a decision with edited arguments fits many times over). */
export const MAX_BODY_BYTES = 64 * 1024;

/** A new per-process secret: 32 random bytes, base64url. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Compares a presented token with the process's in constant time.
 * @param presented - what the request carried (absent: refused)
 * @param token - the process's token
 * @returns true when they are equal
 */
export function tokenMatches(presented: string | undefined | null, token: string): boolean {
  if (presented === undefined || presented === null) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Whether the request was addressed to this server by its loopback name: a page on another site that a DNS name
 * points at 127.0.0.1 (DNS rebinding) sends its own name as Host, and is refused.
 * @param req - the request
 * @param port - the port the server listens on
 */
export function hostAllowed(req: IncomingMessage, port: number): boolean {
  const host = req.headers.host;
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

/**
 * Whether a state-changing request comes from the inbox's own page: an `Origin` of this server (browsers always send
 * it on a POST from script), and no cross-site `Sec-Fetch-Site`.
 * @param req - the request
 * @param port - the port the server listens on
 */
export function originAllowed(req: IncomingMessage, port: number): boolean {
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  return origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
}

/** Thrown when a body is too large or not JSON; the server answers 413 or 400. */
export class BodyError extends Error {
  /**
   * @param status - the HTTP status to answer with
   * @param message - why
   */
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * Reads a JSON body of at most {@link MAX_BODY_BYTES}; stops reading as soon as it is over.
 * @param req - the request
 * @returns the parsed JSON value
 * @throws BodyError 415 when it is not `application/json`, 413 when too large, 400 when not JSON
 */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
    throw new BodyError(415, 'the body must be application/json');
  }
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > MAX_BODY_BYTES) throw new BodyError(413, `the body is over ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) {
      req.destroy();
      throw new BodyError(413, `the body is over ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(buf);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new BodyError(400, 'the body is not JSON');
  }
}

/** Headers on every answer: nothing cached, nothing framed, no script or style but the inbox's own, no referrer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * Answers with a status and a body.
 * @param res - the response
 * @param status - HTTP status
 * @param type - content type
 * @param body - the body
 */
export function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Answers with JSON.
 * @param res - the response
 * @param status - HTTP status
 * @param value - the value
 */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}
