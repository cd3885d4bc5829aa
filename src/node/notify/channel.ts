// Node-only: what a delivery channel is to the dispatcher.
import type { Notification, PostedMessage } from '../../shared/activity-types';

/** A person a channel addresses, with the contacts the notification settings give them. */
export interface Recipient {
  /** Normalised name, as the policy and the registry use it. */
  name: string;
  email?: string;
  /** Slack user id. */
  slack?: string;
}

/** What a channel is told besides the notification. */
export interface DeliveryContext {
  /** The people this channel addresses for this notification (may be empty: the request names nobody). */
  recipients: Recipient[];
  /**
   * The same for every try of the same notification on the same channel, also across activity retries:
   * `workflowId/requestId/kind/sequence/channel`. Receivers deduplicate on it.
   */
  deliveryId: string;
  /** The web inbox's address, when the settings give one. */
  inboxUrl?: string;
  /** Aborted when the try has taken too long. */
  signal: AbortSignal;
}

/** Thrown by a channel when trying again cannot help (a 4xx, a refused token, no address to send to). */
export class PermanentDeliveryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One delivery channel: webhook, Slack or email. The dispatcher retries it; it makes one try per call. */
export interface NotificationChannel {
  /** The channel's name in the settings. */
  readonly name: string;
  readonly type: 'webhook' | 'slack' | 'email';
  /**
   * Makes one try.
   * @returns the message it posted or updated, for channels that update in place (Slack), and whom it reached when
   *   that is fewer than the recipients (names; default all of them)
   * @throws PermanentDeliveryError when another try cannot help; any other error is tried again
   */
  send(notification: Notification, context: DeliveryContext): Promise<{ posted?: PostedMessage; to?: string[] }>;
  /** Releases connections (SMTP pools). */
  close?(): Promise<void>;
}
