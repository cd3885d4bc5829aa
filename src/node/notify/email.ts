// Node-only: the email channel (SMTP, through nodemailer).
import nodemailer from 'nodemailer';
import type { Notification } from '../../shared/activity-types';
import { ConfigError } from '../../shared/errors';
import type { EmailChannelSettings } from './settings';
import { PermanentDeliveryError, type DeliveryContext, type NotificationChannel } from './channel';
import { notificationSubject, notificationText } from './message-text';

/**
 * Creates an email channel: one plain-text message per notification, to every recipient with an address in the
 * settings (`people.NAME.email`), over SMTP. The delivery id is the message's `Message-ID`, so a receiving system can
 * tell a repeated try from a new notification. SMTP answers 5xx are final; connection errors and 4xx are tried again.
 * @param name - the channel's name in the settings
 * @param settings - its settings
 * @param env - where the password variable is read (default `process.env`)
 * @throws ConfigError when `passwordEnv` names a variable that is unset
 */
export function createEmailChannel(
  name: string,
  settings: EmailChannelSettings,
  env: Readonly<Record<string, string | undefined>> = process.env,
): NotificationChannel {
  const url = new URL(settings.smtp);
  if (settings.passwordEnv !== undefined) {
    const password = env[settings.passwordEnv];
    if (password === undefined) throw new ConfigError(`notification channel ${name}: ${settings.passwordEnv} is unset`);
    url.password = encodeURIComponent(password);
  }
  const transport = nodemailer.createTransport(url.toString());
  return {
    name,
    type: 'email',
    async send(notification: Notification, context: DeliveryContext) {
      const to = context.recipients.filter((r) => r.email !== undefined);
      if (to.length === 0) {
        const who = context.recipients.map((r) => r.name).join(', ') || 'anyone (the request names nobody)';
        throw new PermanentDeliveryError(`no email address in the notification settings for ${who}`);
      }
      try {
        await transport.sendMail({
          from: settings.from,
          to: to.map((r) => r.email as string),
          subject: notificationSubject(notification),
          text: notificationText(notification, context.inboxUrl),
          messageId: `<${context.deliveryId.replace(/[^A-Za-z0-9._-]/g, '.')}@hitl-agent>`,
        });
      } catch (err) {
        const code = (err as { responseCode?: unknown }).responseCode;
        const message = err instanceof Error ? err.message : String(err);
        if (typeof code === 'number' && code >= 500) throw new PermanentDeliveryError(message, { cause: err });
        throw err;
      }
      return { to: to.map((r) => r.name) };
    },
    close() {
      transport.close();
      return Promise.resolve();
    },
  };
}
