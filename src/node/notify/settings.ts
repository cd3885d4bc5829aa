// Node-only: the operator's notification settings (which channels exist, who is reached where, what goes where).
import { z } from 'zod';
import { loadConfigFile } from '../policy-file';
import { normalizeName } from '../../shared/identity/names';

/** The environment variable naming the notification settings file. */
export const NOTIFY_ENV_VAR = 'HITL_NOTIFY';

const envName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name, e.g. HITL_WEBHOOK_SECRET')
  .max(128);
const httpUrl = z
  .string()
  .max(2048)
  .url()
  .refine((u) => /^https?:\/\//i.test(u), 'an http:// or https:// URL');

const WebhookSchema = z.strictObject({
  type: z.literal('webhook'),
  /** Where each notification is POSTed as JSON. */
  url: httpUrl,
  /** The variable holding the HMAC-SHA256 secret the body is signed with. */
  secretEnv: envName.default('HITL_WEBHOOK_SECRET'),
});

const SlackSchema = z.strictObject({
  type: z.literal('slack'),
  /** The conversation (channel) id messages are posted to, e.g. `C0123ABCD`. */
  conversation: z.string().min(1).max(64),
  /** The variable holding the bot token (`xoxb-…`). */
  tokenEnv: envName.default('SLACK_BOT_TOKEN'),
  /** The Web API's base URL (the official client's `slackApiUrl`), e.g. a local stand-in's; default Slack's own. */
  apiUrl: httpUrl.optional(),
});

const EmailSchema = z.strictObject({
  type: z.literal('email'),
  /** The SMTP server, as nodemailer takes it: `smtp://host:port` or `smtps://user:pass@host:465`. */
  smtp: z
    .string()
    .max(2048)
    .refine((u) => /^smtps?:\/\//i.test(u), 'an smtp:// or smtps:// URL'),
  /** The sender, e.g. `hitl <hitl@example.com>`. */
  from: z.string().min(3).max(320),
  /** The variable holding the SMTP password, when the URL has none. */
  passwordEnv: envName.optional(),
});

const ChannelSchema = z.discriminatedUnion('type', [WebhookSchema, SlackSchema, EmailSchema]);

const PersonSchema = z.strictObject({
  /** Where email reaches the person. */
  email: z.email().max(320).optional(),
  /** The person's Slack user id (`U0123ABCD`): mentioned in posts, and mapped back to them by `hitl serve`. */
  slack: z
    .string()
    .regex(/^[UW][A-Z0-9]{2,30}$/, 'a Slack user id such as U0123ABCD')
    .optional(),
});

const RouteSchema = z.strictObject({
  /** Notifications whose request may be decided now by one of these policy groups. */
  groups: z.array(z.string().min(1).max(128)).max(100).optional(),
  /** Notifications addressed to one of these people. */
  people: z.array(z.string().min(1).max(128)).max(1000).optional(),
  /** The channels (names under `channels`) that carry them. */
  channels: z.array(z.string().min(1).max(64)).min(1).max(20),
});

const channelName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a channel name: lower case, digits, - and _');

/** The notification settings file's schema. */
export const NotifySettingsSchema = z
  .strictObject({
    /** The web inbox's address, for links in messages (the Slack edit button), e.g. `http://127.0.0.1:8788`. */
    inboxUrl: httpUrl.optional(),
    /** How each person is reached, by name (compared normalised, as everywhere). */
    people: z.record(z.string().min(1).max(128), PersonSchema).default({}),
    channels: z.record(channelName, ChannelSchema).default({}),
    /**
     * Which notifications go where. A route with neither `groups` nor `people` takes every notification; otherwise
     * one whose current deciders include one of its groups or people. A notification goes to every channel of every
     * route it matches, once each; the log line is always written.
     */
    routes: z.array(RouteSchema).max(200).default([]),
  })
  .superRefine((s, ctx) => {
    for (const [i, route] of s.routes.entries()) {
      for (const [j, name] of route.channels.entries()) {
        if (!Object.hasOwn(s.channels, name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', i, 'channels', j],
            message: `no channel named "${name}" under channels (${Object.keys(s.channels).join(', ') || 'none'})`,
          });
        }
      }
    }
    const seen = new Map<string, string>();
    for (const name of Object.keys(s.people)) {
      const key = normalizeName(name);
      const other = seen.get(key);
      if (other !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['people', name], message: `"${name}" is the same person as "${other}"` });
      }
      seen.set(key, name);
    }
  });

/** The notification settings, validated. */
export type NotifySettings = z.infer<typeof NotifySettingsSchema>;
/** One channel's settings. */
export type ChannelSettings = z.infer<typeof ChannelSchema>;
/** A Slack channel's settings. */
export type SlackChannelSettings = z.infer<typeof SlackSchema>;
/** A webhook channel's settings. */
export type WebhookChannelSettings = z.infer<typeof WebhookSchema>;
/** An email channel's settings. */
export type EmailChannelSettings = z.infer<typeof EmailSchema>;

/** No channels: notifications go to the log only. */
export const LOG_ONLY: NotifySettings = { people: {}, channels: {}, routes: [] };

/**
 * Picks the notification settings: the explicit file, else the one `HITL_NOTIFY` names, else none (log only).
 * @param options - `path`: an explicit file; `env`: the environment to read (default `process.env`)
 * @returns the settings and where they came from
 * @throws ConfigError naming the file, and each problem's `line:col` and key path, when it is unreadable or invalid
 */
export function resolveNotifySettings(
  options: { path?: string; env?: Readonly<Record<string, string | undefined>> } = {},
): { settings: NotifySettings; source: string } {
  const fromEnv = (options.env ?? process.env)[NOTIFY_ENV_VAR]?.trim();
  const path = options.path ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
  if (path === undefined) return { settings: LOG_ONLY, source: 'none (log only)' };
  return { settings: loadConfigFile(path, NotifySettingsSchema, 'notification settings'), source: path };
}

/**
 * Finds a person's contact settings by name, compared normalised.
 * @returns the person's settings, or undefined when the file does not name them
 */
export function personSettings(settings: NotifySettings, name: string): NotifySettings['people'][string] | undefined {
  const key = normalizeName(name);
  for (const [n, p] of Object.entries(settings.people)) if (normalizeName(n) === key) return p;
  return undefined;
}
