// Node-only: the official Slack Web API client, set up as the bridge uses it: one try per call (the caller retries),
// its logs in the process logger, and the caller's abort signal on every request.
import { LogLevel, WebClient, type FetchFunction, type Logger } from '@slack/web-api';
import { logger } from '../logger';

const slackLog = logger.child({ component: 'slack-web-api' });

/** The Web API client's logger interface over the process logger. */
const clientLogger: Logger = {
  debug: (...msg: unknown[]) => slackLog.debug(msg.map(String).join(' ')),
  info: (...msg: unknown[]) => slackLog.info(msg.map(String).join(' ')),
  warn: (...msg: unknown[]) => slackLog.warn(msg.map(String).join(' ')),
  error: (...msg: unknown[]) => slackLog.error(msg.map(String).join(' ')),
  setLevel: () => undefined,
  getLevel: () => LogLevel.INFO,
  setName: () => undefined,
};

/** Where and how to reach the Web API. */
export interface SlackClientOptions {
  /** The bot token (`xoxb-…`). */
  token: string;
  /** The Web API's base URL (default Slack's own). */
  apiUrl?: string;
  /** Aborts the request in flight. */
  signal?: AbortSignal;
  /** Gives up on a request after this long, in ms (default 10 000). */
  timeoutMs?: number;
}

/**
 * A Web API client that makes exactly one try per call: no retries and no waiting out a rate limit (it throws
 * instead), because the notification dispatcher retries with its own policy and a bridge answering Slack has seconds.
 * @param options - token, base URL, abort signal, timeout
 * @returns the client
 */
export function slackWebClient(options: SlackClientOptions): WebClient {
  const { signal } = options;
  const fetchWithSignal: FetchFunction = (url, init) =>
    fetch(url, {
      ...init,
      ...(signal !== undefined ? { signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal } : {}),
    });
  return new WebClient(options.token, {
    ...(options.apiUrl !== undefined ? { slackApiUrl: options.apiUrl } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: options.timeoutMs ?? 10_000,
    logger: clientLogger,
    fetch: fetchWithSignal,
  });
}
