// Node-only: Slack's request signing (v0). Slack signs `v0:{timestamp}:{raw body}` with HMAC-SHA256 under the app's
// signing secret and sends `X-Slack-Signature: v0={hex}` with `X-Slack-Request-Timestamp`. A request is taken only when
// the signature matches, the timestamp is within five minutes of now, and the same request was not taken before.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a request's timestamp may be from now, in ms (Slack's own recommendation: five minutes). */
export const SLACK_TIMESTAMP_WINDOW_MS = 5 * 60_000;

/** The outcome of checking one request. */
export type SlackVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Signs a request body as Slack does.
 * @param secret - the app's signing secret
 * @param timestamp - the request timestamp, in seconds since the epoch (as sent in `X-Slack-Request-Timestamp`)
 * @param body - the raw body, exactly as sent
 * @returns the `X-Slack-Signature` header value, `v0=` and 64 hex characters
 */
export function slackSignature(secret: string, timestamp: string, body: Buffer | string): string {
  const mac = createHmac('sha256', secret);
  mac.update(`v0:${timestamp}:`);
  mac.update(body);
  return `v0=${mac.digest('hex')}`;
}

/**
 * Remembers the signatures of requests taken within the timestamp window, so a captured request sent again is refused.
 * Entries leave once their timestamp is out of the window (such a request is refused as stale anyway).
 */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();

  /** @param maxEntries - at most this many remembered requests; beyond it new requests are refused (default 100 000) */
  constructor(private readonly maxEntries = 100_000) {}

  /**
   * Records a request unless it was seen.
   * @param signature - the request's signature (unique per timestamp and body)
   * @param timestampMs - the request's timestamp, in ms
   * @param nowMs - now, in ms
   * @returns false when the request was seen already, or too many are remembered to tell
   */
  admit(signature: string, timestampMs: number, nowMs: number): boolean {
    if (this.#seen.has(signature)) return false;
    if (this.#seen.size >= this.maxEntries) {
      for (const [sig, at] of this.#seen) if (Math.abs(nowMs - at) > SLACK_TIMESTAMP_WINDOW_MS) this.#seen.delete(sig);
      if (this.#seen.size >= this.maxEntries) return false;
    }
    this.#seen.set(signature, timestampMs);
    return true;
  }
}

/**
 * Checks a request's Slack signature and timestamp, then that it was not taken before. Constant-time comparison.
 * @param request - the headers' values (undefined when absent) and the raw body
 * @param secret - the app's signing secret
 * @param replays - the guard of this endpoint
 * @param nowMs - now, in ms since the epoch
 * @returns `ok`, or the reason to refuse it (for a 401 answer: short, and no secret in it)
 */
export function verifySlackRequest(
  request: { timestamp: string | undefined; signature: string | undefined; body: Buffer },
  secret: string,
  replays: ReplayGuard,
  nowMs: number,
): SlackVerdict {
  const { timestamp, signature, body } = request;
  if (timestamp === undefined || signature === undefined) return { ok: false, reason: 'unsigned request' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'malformed timestamp' };
  const timestampMs = Number(timestamp) * 1000;
  if (Math.abs(nowMs - timestampMs) > SLACK_TIMESTAMP_WINDOW_MS) return { ok: false, reason: 'stale timestamp' };
  if (!/^v0=[0-9a-f]{64}$/.test(signature)) return { ok: false, reason: 'malformed signature' };
  const expected = Buffer.from(slackSignature(secret, timestamp, body), 'utf8');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'utf8'))) return { ok: false, reason: 'bad signature' };
  if (!replays.admit(signature, timestampMs, nowMs)) return { ok: false, reason: 'replayed request' };
  return { ok: true };
}
