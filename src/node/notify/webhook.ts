// Node-only: the generic webhook channel.
import { createHmac } from 'node:crypto';
import type { Notification } from '../../shared/activity-types';
import { ConfigError } from '../../shared/errors';
import type { WebhookChannelSettings } from './settings';
import { PermanentDeliveryError, type DeliveryContext, type NotificationChannel } from './channel';

/** Header with the delivery's id: the same for every try of one notification on one channel. */
export const DELIVERY_HEADER = 'x-hitl-delivery';
/** Header with the time of signing, in Unix seconds. */
export const TIMESTAMP_HEADER = 'x-hitl-timestamp';
/** Header with the signature: `v1=` and the hex HMAC-SHA256 of `{timestamp}.{body}` under the channel's secret. */
export const SIGNATURE_HEADER = 'x-hitl-signature';

/**
 * The signature a webhook request carries, as a receiver recomputes it: `v1=` then the lower-case hex HMAC-SHA256,
 * under the shared secret, of the timestamp header's value, a dot, and the raw body bytes (the scheme of Slack's and
 * Stripe's webhook signatures).
 * @param secret - the shared secret (UTF-8)
 * @param timestamp - the `x-hitl-timestamp` header's value (Unix seconds, as text)
 * @param body - the raw request body
 * @returns e.g. `v1=5d41…`
 */
export function webhookSignature(secret: string, timestamp: string, body: string | Buffer): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/** The JSON body of a webhook delivery (version 1). */
export interface WebhookBody extends Notification {
  /** The body's format. */
  version: 1;
  /** The delivery id, as in the `x-hitl-delivery` header. */
  deliveryId: string;
  /** ISO-8601 time of this try. */
  sentAt: string;
}

/**
 * Creates a webhook channel: each notification is POSTed as JSON ({@link WebhookBody}) with the delivery id, a
 * timestamp and an HMAC-SHA256 signature in headers. A 2xx answer is a delivery; 408, 429 and 5xx answers and network
 * errors are tried again; any other answer is final.
 * @param name - the channel's name in the settings
 * @param settings - its settings
 * @param env - where the secret variable is read (default `process.env`)
 * @throws ConfigError when the secret variable is unset or shorter than 16 characters
 */
export function createWebhookChannel(
  name: string,
  settings: WebhookChannelSettings,
  env: Readonly<Record<string, string | undefined>> = process.env,
): NotificationChannel {
  const secret = env[settings.secretEnv];
  if (secret === undefined || secret.length < 16) {
    throw new ConfigError(
      `notification channel ${name}: set ${settings.secretEnv} to the webhook's shared secret (at least 16 characters)`,
    );
  }
  return {
    name,
    type: 'webhook',
    async send(notification: Notification, context: DeliveryContext) {
      const body: WebhookBody = {
        version: 1,
        deliveryId: context.deliveryId,
        sentAt: new Date().toISOString(),
        ...notification,
      };
      const text = JSON.stringify(body);
      const timestamp = String(Math.floor(Date.now() / 1000));
      const response = await fetch(settings.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'hitl-agent-notify/1',
          [DELIVERY_HEADER]: context.deliveryId,
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: webhookSignature(secret, timestamp, text),
        },
        body: text,
        signal: context.signal,
        redirect: 'error',
      });
      // The answer's body is not ours to read; drain it so the connection is reused.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return {};
      const message = `${settings.url} answered ${response.status} ${response.statusText}`;
      if (response.status === 408 || response.status === 429 || response.status >= 500) throw new Error(message);
      throw new PermanentDeliveryError(message);
    },
  };
}
