// Node-only: routes a notification to its channels and retries each until it is delivered or given up.
import type { Delivery, Notification, NotificationReceipt } from '../../shared/activity-types';
import { normalizeName } from '../../shared/identity/names';
import { logger } from '../logger';
import { PermanentDeliveryError, type NotificationChannel, type Recipient } from './channel';
import { createEmailChannel } from './email';
import { createSlackChannel } from './slack';
import { personSettings, type ChannelSettings, type NotifySettings } from './settings';
import { createWebhookChannel } from './webhook';

/** Makes a channel from its settings. */
export type ChannelFactory = (
  name: string,
  settings: ChannelSettings,
  env: Readonly<Record<string, string | undefined>>,
) => NotificationChannel;

/** How hard each channel is tried within one `notify` activity. */
export interface RetrySettings {
  /** Tries per channel (default 4). */
  attempts: number;
  /** Wait before the second try, doubled after each (ms; default 250). */
  initialDelayMs: number;
  /** Longest wait between tries (ms; default 4000). */
  maxDelayMs: number;
  /** How long one try may take before it is abandoned (ms; default 10000). */
  tryTimeoutMs: number;
}

const DEFAULT_RETRY: RetrySettings = { attempts: 4, initialDelayMs: 250, maxDelayMs: 4000, tryTimeoutMs: 10_000 };

/** Options of {@link NotificationDispatcher}. */
export interface DispatcherOptions {
  /** Where secrets and tokens are read (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Channel factories by type, over the built-in ones (webhook, email, Slack). */
  factories?: Partial<Record<ChannelSettings['type'], ChannelFactory>>;
  retry?: Partial<RetrySettings>;
}

/**
 * Delivers notifications on the channels the operator's settings route them to. The log line is always written, at
 * info level, first. Each channel is tried up to `retry.attempts` times with growing waits; one that still fails is
 * reported in the receipt, never thrown, so a broken channel never holds up or decides a gate.
 */
export class NotificationDispatcher {
  readonly #settings: NotifySettings;
  readonly #channels = new Map<string, NotificationChannel>();
  readonly #retry: RetrySettings;

  /**
   * Builds every channel the settings name, so a missing secret stops the worker at its start.
   * @throws ConfigError naming the channel and the variable when a channel's secret or token is unset
   */
  constructor(settings: NotifySettings, options: DispatcherOptions = {}) {
    this.#settings = settings;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    const env = options.env ?? process.env;
    const factories: Partial<Record<ChannelSettings['type'], ChannelFactory>> = {
      webhook: (name, s, e) => createWebhookChannel(name, s as Extract<ChannelSettings, { type: 'webhook' }>, e),
      email: (name, s, e) => createEmailChannel(name, s as Extract<ChannelSettings, { type: 'email' }>, e),
      slack: (name, s, e) => createSlackChannel(name, s as Extract<ChannelSettings, { type: 'slack' }>, e),
      ...options.factories,
    };
    for (const [name, channel] of Object.entries(settings.channels)) {
      const factory = factories[channel.type];
      if (factory === undefined) throw new Error(`no factory for ${channel.type} channels`);
      this.#channels.set(name, factory(name, channel, env));
    }
  }

  /**
   * Delivers one notification: the log line, then every routed channel in parallel.
   * @param n - the notification
   * @param deliveryKey - the same for every try of this notification (`workflowId/runId/activityId`); each channel's
   *   delivery id is it plus the channel's name
   * @returns one delivery per channel, the log's first
   */
  async deliver(n: Notification, deliveryKey: string): Promise<NotificationReceipt> {
    const started = performance.now();
    logger.info(
      { notification: n.kind, text: n.text, workflowId: n.workflowId, requestId: n.requestId, to: n.to },
      'notification',
    );
    const log: Delivery = { channel: 'log', type: 'log', ok: true, to: n.to, attempts: 1, ms: 0 };
    const routed = this.route(n);
    const deliveries = await Promise.all(
      [...routed].map(([name, recipients]) => this.#deliverOn(name, recipients, n, `${deliveryKey}/${name}`, started)),
    );
    return { deliveries: [log, ...deliveries] };
  }

  /**
   * Which channels a notification goes to, and whom each addresses. A route with neither groups nor people takes
   * every notification and addresses its `to`; a route whose groups include one deciding now addresses `to`; a route
   * naming people addresses those of them in `to`.
   * @returns channel name → recipients
   */
  route(n: Notification): Map<string, Recipient[]> {
    const to = n.to.map(normalizeName);
    const groups = new Set(n.request?.stages[n.request.stage]?.groups ?? []);
    const routed = new Map<string, Set<string>>();
    for (const route of this.#settings.routes) {
      const catchAll = route.groups === undefined && route.people === undefined;
      const byGroup = (route.groups ?? []).some((g) => groups.has(g));
      const wanted = new Set((route.people ?? []).map(normalizeName));
      const byPerson = to.filter((p) => wanted.has(p));
      if (!catchAll && !byGroup && byPerson.length === 0) continue;
      const names = catchAll || byGroup ? to : byPerson;
      for (const channel of route.channels) {
        const set = routed.get(channel) ?? new Set<string>();
        for (const name of names) set.add(name);
        routed.set(channel, set);
      }
    }
    return new Map(
      [...routed].map(([channel, names]) => [
        channel,
        [...names].sort().map((name) => ({ name, ...personSettings(this.#settings, name) })),
      ]),
    );
  }

  async #deliverOn(
    name: string,
    recipients: Recipient[],
    n: Notification,
    deliveryId: string,
    started: number,
  ): Promise<Delivery> {
    const channel = this.#channels.get(name);
    const names = recipients.map((r) => r.name);
    const done = (d: Omit<Delivery, 'channel' | 'ms'>): Delivery => ({
      channel: name,
      ...d,
      ms: Math.round(performance.now() - started),
    });
    if (channel === undefined)
      return done({ type: 'log', ok: false, to: names, attempts: 0, error: 'no such channel' });
    const { attempts, initialDelayMs, maxDelayMs, tryTimeoutMs } = this.#retry;
    let error = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const context = {
          recipients,
          deliveryId,
          signal: AbortSignal.timeout(tryTimeoutMs),
          ...(this.#settings.inboxUrl !== undefined ? { inboxUrl: this.#settings.inboxUrl } : {}),
        };
        const sent = await channel.send(n, context);
        return done({
          type: channel.type,
          ok: true,
          to: sent.to ?? names,
          attempts: attempt,
          ...(sent.posted !== undefined ? { posted: sent.posted } : {}),
        });
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
        const final = err instanceof PermanentDeliveryError || attempt === attempts;
        logger.warn({ channel: name, attempt, final, workflowId: n.workflowId, error }, 'notification not delivered');
        if (final) return done({ type: channel.type, ok: false, to: names, attempts: attempt, error });
        await delay(Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1)));
      }
    }
    return done({ type: channel.type, ok: false, to: names, attempts, error });
  }

  /** Closes the channels' connections. */
  async close(): Promise<void> {
    await Promise.all([...this.#channels.values()].map((c) => c.close?.() ?? Promise.resolve()));
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
