// Request opened to notification arrived: from the `approval_requested` audit entry's time (workflow time, when the
// request opened) to the moment each channel's local server received the notification: a webhook receiver, a
// stand-in of the Slack Web API (chat.postMessage) and an SMTP server, all on 127.0.0.1, through the real path (the
// run's notify activity, the dispatcher, the channels). Dev server from the project's Temporal CLI, one worker,
// scripted model; runs one after another.
//   npx tsx bench/notification-latency.ts [--samples 7]
import { parseArgs } from 'node:util';
import { auditTrail } from '../client';
import { NotificationDispatcher } from '../src/node/notify/dispatcher';
import { NotifySettingsSchema } from '../src/node/notify/settings';
import type { Notification } from '../src/shared/activity-types';
import { LocalMailServer, WebhookReceiver } from '../scripts/local-receivers';
import { closeSharedEnv, waitFor } from '../test/support/env';
import { answer, call, withWorker } from '../test/support/harness';
import { examplePolicy } from '../test/support/policies';
import { startSlackStandIn } from '../test/support/slack-stand-in';
import { stopAs } from '../test/support/decisions';
import { quantile, recordBenchmark } from './support';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '7' } } });
const samples = Number(values.samples);
const SECRET = 'bench webhook secret, 32 chars..';

async function main(): Promise<void> {
  const [hook, mail, slack] = await Promise.all([
    WebhookReceiver.start(SECRET),
    LocalMailServer.start(),
    startSlackStandIn(),
  ]);
  const settings = NotifySettingsSchema.parse({
    people: { sam: { email: 'sam@example.com', slack: 'U0SAM' }, sue: { email: 'sue@example.com' } },
    channels: {
      hook: { type: 'webhook', url: hook.url, secretEnv: 'BENCH_SECRET' },
      mail: { type: 'email', smtp: mail.url, from: 'hitl <hitl@example.com>' },
      slack: { type: 'slack', conversation: 'C0HITL', tokenEnv: 'BENCH_TOKEN', apiUrl: slack.apiUrl },
    },
    routes: [{ channels: ['hook', 'mail', 'slack'] }],
  });
  const dispatcher = new NotificationDispatcher(settings, { env: { BENCH_SECRET: SECRET, BENCH_TOKEN: 'xoxb-test' } });
  const times = { webhook: [] as number[], slack: [] as number[], email: [] as number[] };
  await withWorker(
    async (h) => {
      for (let i = 0; i < samples; i++) {
        const run = await h.startScripted([
          call('issue_refund', { invoiceId: 1, amountCents: 1, reason: 'bench' }),
          answer('done'),
        ]);
        const [request] = await h.pending(run.workflowId);
        if (request === undefined) throw new Error('no request');
        const id = request.requestId;
        const [webhook, email, post] = await Promise.all([
          waitFor(() => hook.received.find((r) => (r.json as Notification).requestId === id), 'the webhook'),
          waitFor(() => mail.received.find((m) => m.text.includes(id)), 'the email'),
          slack.waitForCall('chat.postMessage', (c) => JSON.stringify(c.body['blocks']).includes(id), 30_000),
        ]);
        const opened = (await auditTrail(h.client, run.workflowId)).find((e) => e.kind === 'approval_requested');
        if (opened === undefined) throw new Error('no approval_requested entry');
        const at = Date.parse(opened.at);
        times.webhook.push(webhook.receivedAt - at);
        times.email.push(email.receivedAt - at);
        times.slack.push(post.at - at);
        await stopAs(h.client, run.workflowId, { by: 'ada', reason: 'bench over' });
        await run.result();
      }
    },
    { policy: { policy: examplePolicy, source: 'policies/example.yaml' }, notifications: dispatcher },
  );
  await dispatcher.close();
  await Promise.all([hook.close(), mail.close(), slack.close()]);
  const row = (name: string, v: number[]) =>
    `| ${name} | ${quantile(v, 0.5).toFixed(0)} | ${Math.min(...v).toFixed(0)} | ${Math.max(...v).toFixed(0)} |`;
  const table = [
    '| channel | median ms | min ms | max ms |',
    '| --- | --- | --- | --- |',
    row('webhook (HTTP POST, signed)', times.webhook),
    row('Slack (chat.postMessage to the stand-in)', times.slack),
    row('email (SMTP, received and parsed)', times.email),
  ];
  process.stdout.write(`${table.join('\n')}\n`);
  recordBenchmark(
    'Request opened to notification received',
    `npx tsx bench/notification-latency.ts --samples ${samples}`,
    table,
    [
      `${samples} runs, one after another. From the \`approval_requested\` audit entry's time (workflow time of the task that`,
      'opened the request) to the local server receiving it; the three channels are delivered in parallel by one notify',
      'activity. Slack and the mail relay themselves are not in it: all three servers are local.',
    ],
  );
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => closeSharedEnv());
