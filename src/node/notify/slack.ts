// Node-only: the Slack delivery channel. Posts a request with Block Kit and its buttons, then updates that message in
// place as the request progresses and closes.
import { WebAPIHTTPError, WebAPIPlatformError } from '@slack/web-api';
import type { Notification, PostedMessage } from '../../shared/activity-types';
import { messageFor } from '../slack/blocks';
import { slackWebClient } from '../slack/web-client';
import { PermanentDeliveryError, type DeliveryContext, type NotificationChannel } from './channel';
import type { SlackChannelSettings } from './settings';

/**
 * Web API errors that another try cannot fix: the token, the conversation or the message is wrong or gone, the app
 * lacks a scope, the payload is refused as built.
 */
const PERMANENT_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'channel_not_found',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'missing_scope',
  'not_in_channel',
  'is_archived',
  'invalid_blocks',
  'invalid_arguments',
  'msg_too_long',
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
]);

/**
 * Sorts a Web API failure: permanent (wrapped in a {@link PermanentDeliveryError}) or worth another try (as it is).
 * @param err - what the client threw
 * @returns the error to throw
 */
export function classifySlackError(err: unknown): Error {
  if (err instanceof WebAPIPlatformError) {
    const code = err.data.error;
    return PERMANENT_ERRORS.has(code)
      ? new PermanentDeliveryError(`Slack refused the call: ${code}`, { cause: err })
      : new Error(`Slack answered ${code}`, { cause: err });
  }
  if (err instanceof WebAPIHTTPError && err.statusCode >= 400 && err.statusCode < 500 && err.statusCode !== 408) {
    return new PermanentDeliveryError(`Slack answered HTTP ${err.statusCode}`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Creates the Slack channel: `chat.postMessage` to the configured conversation for a request's first notification,
 * `chat.update` of that message for the later ones (reminder, escalation, quorum progress, closure: the outcome and no
 * buttons). Run pauses get a message of their own. One try per `send`: the client's own retries are off.
 *
 * @param name - the channel's name in the notification settings
 * @param settings - the conversation, the token's variable, the Web API's base URL
 * @param env - where the token variable is read (default `process.env`)
 * @returns the channel
 * @throws (from `send`) PermanentDeliveryError when the token variable is unset or Slack refuses in a way another try
 *   cannot fix (`invalid_auth`, `not_authed`, `channel_not_found`, `account_inactive`, …); any other error otherwise
 * @example const channel = createSlackChannel('finance-slack', { type: 'slack', conversation: 'C0123', tokenEnv: 'SLACK_BOT_TOKEN' });
 */
export function createSlackChannel(
  name: string,
  settings: SlackChannelSettings,
  env: Readonly<Record<string, string | undefined>> = process.env,
): NotificationChannel {
  return {
    name,
    type: 'slack',
    async send(notification: Notification, context: DeliveryContext): Promise<{ posted?: PostedMessage }> {
      const token = env[settings.tokenEnv]?.trim();
      if (token === undefined || token === '') {
        throw new PermanentDeliveryError(`the Slack bot token variable ${settings.tokenEnv} is not set`);
      }
      const client = slackWebClient({
        token,
        signal: context.signal,
        ...(settings.apiUrl !== undefined ? { apiUrl: settings.apiUrl } : {}),
      });
      const slackIds = new Map<string, string>();
      for (const r of context.recipients) if (r.slack !== undefined) slackIds.set(r.name, r.slack);
      const message = messageFor(notification, {
        slackIds,
        ...(context.inboxUrl !== undefined ? { inboxUrl: context.inboxUrl } : {}),
      });
      const earlier = notification.posted?.find((p) => p.channel === name);
      try {
        if (earlier !== undefined) {
          await client.chat.update({ channel: earlier.target, ts: earlier.ref, ...message });
          return { posted: earlier };
        }
        const answer = await client.chat.postMessage({
          channel: settings.conversation,
          ...message,
          unfurl_links: false,
          unfurl_media: false,
        });
        if (answer.ts === undefined) throw new Error('Slack posted the message but answered no ts');
        return { posted: { channel: name, target: answer.channel ?? settings.conversation, ref: answer.ts } };
      } catch (err) {
        throw classifySlackError(err);
      }
    },
  };
}
