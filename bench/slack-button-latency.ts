// Slack button to tool start: from the moment Slack would POST an Approve press to `hitl serve` to the moment the
// approved tool activity starts (its ActivityTaskStarted event time on the server). Through the real path: the request
// posted as Block Kit to a local stand-in of the Slack Web API, the press signed as Slack signs it, the bridge's
// signature check, the user mapping, the `decide` update signed by the bridge's key for the person (verified in the
// run under `signatures: required`), the precheck, the tool. Dev server from the project's Temporal CLI, one worker,
// scripted model. Pressed after a reader's pause (--think ms, default 1000), as a person would.
//   npx tsx bench/slack-button-latency.ts [--samples 10] [--think 1000]
import { parseArgs } from 'node:util';
import { createKey, loadKey } from '../src/node/identity/keys';
import { NotifySettingsSchema } from '../src/node/notify/settings';
import { createSlackChannel } from '../src/node/notify/slack';
import { startServe } from '../src/node/serve/server';
import { closeSharedEnv, tempDir } from '../test/support/env';
import { answer, call, withWorker } from '../test/support/harness';
import { testRegistry } from '../test/support/keys';
import { examplePolicy } from '../test/support/policies';
import {
  buttonOf,
  buttonPress,
  postToBridge,
  signedSlackRequest,
  TEST_SIGNING_SECRET,
} from '../test/support/slack-requests';
import { startSlackStandIn } from '../test/support/slack-stand-in';
import { toolStartedAt } from '../test/support/tool-start';
import { quantile, recordBenchmark } from './support';

const { values } = parseArgs({
  options: { samples: { type: 'string', default: '10' }, think: { type: 'string', default: '1000' } },
});
const samples = Number(values.samples);
const thinkMs = Number(values.think);

async function main(): Promise<void> {
  const standIn = await startSlackStandIn();
  const keys = tempDir('hitl-bench-slack-');
  const { line } = createKey('slack-bridge', { dir: keys });
  const key = loadKey('slack-bridge', keys)!;
  const settings = NotifySettingsSchema.parse({
    people: { sam: { slack: 'U0SAM' } },
    channels: { team: { type: 'slack', conversation: 'C0HITL', tokenEnv: 'T', apiUrl: standIn.apiUrl } },
  });
  const slackChannel = settings.channels['team'];
  if (slackChannel?.type !== 'slack') throw new Error('no Slack channel');
  const channel = createSlackChannel('team', slackChannel, { T: 'xoxb-test' });
  const latencies: number[] = [];
  await withWorker(
    async (h) => {
      const serve = await startServe({
        client: h.client,
        key,
        settings,
        signingSecret: TEST_SIGNING_SECRET,
        responseUrlPrefixes: [standIn.url],
      });
      for (let i = 0; i < samples; i++) {
        const run = await h.startScripted([
          call('issue_refund', { invoiceId: 1 + (i % 50), amountCents: 1, reason: 'bench' }),
          answer('done'),
        ]);
        const [request] = await h.pending(run.workflowId);
        await channel.send(
          {
            kind: 'approval_requested',
            workflowId: run.workflowId,
            requestId: request!.requestId,
            to: [],
            text: 'bench',
            request: request!,
          },
          { recipients: [], deliveryId: `bench-${i}`, signal: new AbortController().signal },
        );
        const message = await standIn.waitForCall('chat.postMessage', (c) =>
          JSON.stringify(c.body).includes(request!.requestId),
        );
        const press = buttonPress(
          'U0SAM',
          'hitl_approve',
          buttonOf(message, 'hitl_approve').value,
          standIn.responseUrl(),
        );
        await new Promise((r) => setTimeout(r, thinkMs));
        const pressedAt = Date.now();
        const { status } = await postToBridge(serve.url, signedSlackRequest(press));
        if (status !== 200) throw new Error(`the bridge answered ${status}`);
        await run.result();
        latencies.push((await toolStartedAt(h.client, run.workflowId, 'issue_refund')) - pressedAt);
      }
      await serve.close();
    },
    {
      policy: { policy: examplePolicy, source: 'policies/example.yaml' },
      registry: testRegistry([`${line} signs-for=sam`]),
    },
  );
  await standIn.close();
  await closeSharedEnv();
  const table = [
    '| path | samples | p50 (ms) | p99 (ms) |',
    '|---|---|---|---|',
    `| Slack Approve press → hitl serve → decide (bridge-signed) | ${latencies.length} | ${quantile(latencies, 0.5).toFixed(0)} | ${quantile(latencies, 0.99).toFixed(0)} |`,
  ];
  process.stdout.write(`${table.join('\n')}\n`);
  recordBenchmark(
    'Slack button to tool start',
    `npx tsx bench/slack-button-latency.ts --samples ${samples} --think ${thinkMs}`,
    table,
    [
      'Time from the signed Approve POST to `hitl serve` to the ActivityTaskStarted event of the approved tool (server',
      'clock, same machine). The bridge acknowledges Slack at once and decides after; between the decision and the tool',
      `come the tool's precheck activity and two workflow tasks. Pressed ${thinkMs} ms after the request appeared.`,
      'Slack itself (its network and its 3-second budget) is not in it: the press comes from a local stand-in.',
    ],
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
