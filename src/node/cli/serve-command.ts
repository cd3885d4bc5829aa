import type { Command } from 'commander';
import { InputError } from '../../shared/errors';
import { keysDir, loadKey } from '../identity/keys';
import { resolveNotifySettings, type NotifySettings, type SlackChannelSettings } from '../notify/settings';
import { startServe } from '../serve/server';
import { note, print, withClient, type GlobalOptions } from './io';

/** The environment variable holding the Slack app's signing secret. */
export const SLACK_SIGNING_SECRET_ENV = 'SLACK_SIGNING_SECRET';

/** The Slack channel whose token and API URL the bridge uses for modals: the named one, else the only one. */
function slackChannel(settings: NotifySettings, name: string | undefined): SlackChannelSettings | undefined {
  const slack = Object.entries(settings.channels).filter(
    (entry): entry is [string, SlackChannelSettings] => entry[1].type === 'slack',
  );
  if (name !== undefined) {
    const found = slack.find(([n]) => n === name);
    if (found === undefined) throw new InputError(`the notification settings have no Slack channel named "${name}"`);
    return found[1];
  }
  if (slack.length > 1) {
    throw new InputError(
      `the notification settings have ${slack.length} Slack channels: name one with --slack-channel`,
    );
  }
  return slack[0]?.[1];
}

/**
 * Adds `hitl serve`: the HTTP endpoints that need a process, for now Slack interactivity (`POST /slack/actions`).
 * @param program - the `hitl` program
 */
export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve Slack interactivity (POST /slack/actions): decisions from Slack, signed by a bridge key')
    .requiredOption('--as <bridge>', 'the bridge: signs with this key, registered with signs-for=… on the workers')
    .option('--port <n>', 'port to listen on', '3100')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--notify <file>', 'notification settings: who is who in Slack (default: $HITL_NOTIFY)')
    .option('--slack-channel <name>', 'the Slack channel in the settings whose token opens the modals')
    .option(
      '--response-url-prefix <url>',
      'answer only to response URLs under this prefix (GovSlack: https://hooks.slack-gov.com/)',
      'https://hooks.slack.com/',
    )
    .action(
      async (
        opts: {
          as: string;
          port: string;
          host: string;
          notify?: string;
          slackChannel?: string;
          responseUrlPrefix: string;
        },
        cmd: Command,
      ) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65_535)
          throw new InputError(`--port ${opts.port} is not a port`);
        if (!URL.canParse(opts.responseUrlPrefix) || !/^https?:\/\//.test(opts.responseUrlPrefix)) {
          throw new InputError(`--response-url-prefix ${opts.responseUrlPrefix} is not an http(s) URL`);
        }
        const signingSecret = process.env[SLACK_SIGNING_SECRET_ENV]?.trim() ?? '';
        if (signingSecret === '') {
          throw new InputError(
            `${SLACK_SIGNING_SECRET_ENV} is not set: copy it from the Slack app's Basic Information`,
          );
        }
        const dir = keysDir(cmd.optsWithGlobals<GlobalOptions>().keysDir);
        const key = loadKey(opts.as, dir);
        if (key === undefined)
          throw new InputError(`no key for ${opts.as} in ${dir} (create one: hitl keys init --as ${opts.as})`);
        const { settings, source } = resolveNotifySettings(opts.notify !== undefined ? { path: opts.notify } : {});
        const channel = slackChannel(settings, opts.slackChannel);
        const token = channel !== undefined ? process.env[channel.tokenEnv]?.trim() : undefined;
        if (token === undefined || token === '') {
          note(
            `no Slack bot token (${channel?.tokenEnv ?? 'no Slack channel in the settings'}): Reject and Respond cannot open their forms`,
          );
        }
        const mapped = Object.values(settings.people).filter((p) => p.slack !== undefined).length;
        await withClient(cmd, async (client) => {
          const running = await startServe({
            client,
            key,
            settings,
            signingSecret,
            host: opts.host,
            port,
            responseUrlPrefixes: [opts.responseUrlPrefix],
            ...(token !== undefined && token !== ''
              ? { slack: { token, ...(channel?.apiUrl !== undefined ? { apiUrl: channel.apiUrl } : {}) } }
              : {}),
          });
          print(
            `listening on ${running.url}/slack/actions as ${key.name} (${mapped} Slack user(s) mapped in ${source})`,
          );
          await new Promise<void>((resolve) => {
            process.once('SIGINT', resolve);
            process.once('SIGTERM', resolve);
          });
          await running.close();
        });
      },
    );
}
