import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { countRefunds } from '../activities/billing/index';
import { createKey } from '../src/node/identity/keys';
import { createSlackChannel } from '../src/node/notify/slack';
import { repoRoot, sharedEnv, tempDir } from './support/env';
import { answer, call, withWorker } from './support/harness';
import { testRegistry } from './support/keys';
import { examplePolicy } from './support/policies';
import { buttonOf, buttonPress, postToBridge, signedSlackRequest, TEST_SIGNING_SECRET } from './support/slack-requests';
import { startSlackStandIn, type SlackStandIn } from './support/slack-stand-in';

let standIn: SlackStandIn;
before(async () => {
  standIn = await startSlackStandIn();
});
after(async () => {
  await standIn.close();
});

/** Starts `hitl serve` as a user would, and waits for the address it prints. */
async function startServeCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/hitl.mjs'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const found = /listening on (http:\/\/\S+)\/slack\/actions/.exec(out);
      if (found?.[1] !== undefined) resolve(found[1]);
    });
    child.once('exit', (code) => reject(new Error(`hitl serve exited with ${code}: ${err}`)));
  });
  return { child, url };
}

describe('Slack: hitl serve', () => {
  it('runs as a command: a signed Approve from Slack runs the refund, signed by the bridge key from the keys folder', async () => {
    const keys = tempDir('hitl-serve-keys-');
    const { line } = createKey('slack-bridge', { dir: keys });
    const notify = join(tempDir('hitl-serve-notify-'), 'notify.json');
    const settings = {
      people: { sam: { slack: 'U0SAM' } },
      channels: {
        team: { type: 'slack', conversation: 'C0HITL', tokenEnv: 'SLACK_TEST_TOKEN', apiUrl: standIn.apiUrl },
      },
    } as const;
    writeFileSync(notify, JSON.stringify(settings));
    const { address } = await sharedEnv();
    const registry = testRegistry([`${line} signs-for=sam`]);
    await withWorker(
      async (h) => {
        const { child, url } = await startServeCli(
          ['--address', address, '--keys-dir', keys, 'serve', '--as', 'slack-bridge', '--port', '0'].concat([
            '--notify',
            notify,
            '--response-url-prefix',
            standIn.url,
          ]),
          { SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET, SLACK_TEST_TOKEN: 'xoxb-test', HITL_LOG_LEVEL: 'warn' },
        );
        try {
          const run = await h.startScripted([
            call('issue_refund', { invoiceId: 2, amountCents: 100, reason: 'duplicate charge' }),
            answer('done'),
          ]);
          const [request] = await h.pending(run.workflowId);
          const channel = createSlackChannel('team', settings.channels.team, { SLACK_TEST_TOKEN: 'xoxb-test' });
          const signal = new AbortController().signal;
          await channel.send(
            {
              kind: 'approval_requested',
              workflowId: run.workflowId,
              requestId: request!.requestId,
              to: [],
              text: 't',
              request: request!,
            },
            { recipients: [], deliveryId: 'cli', signal },
          );
          const message = await standIn.waitForCall('chat.postMessage', (c) =>
            JSON.stringify(c.body).includes(request!.requestId),
          );
          const responseUrl = standIn.responseUrl('cli');
          const press = buttonPress('U0SAM', 'hitl_approve', buttonOf(message, 'hitl_approve').value, responseUrl);
          assert.equal((await postToBridge(url, signedSlackRequest(press))).status, 200);
          await run.result();
          assert.equal(countRefunds(h.db), 1);
          const answered = await standIn.waitForCall('response', (c) => c.responseId === 'cli');
          assert.match(String(answered.body['text']), /Approved as sam, via slack-bridge/);
        } finally {
          child.kill('SIGTERM');
          await once(child, 'exit');
        }
      },
      { policy: { policy: examplePolicy, source: 'policies/example.yaml' }, registry },
    );
  });
});
