import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { countRefunds } from '../activities/billing/index';
import { auditTrail, pendingApprovals, runResult } from '../client';
import { createKey, loadKey, type SigningKey } from '../src/node/identity/keys';
import { PermanentDeliveryError, type DeliveryContext } from '../src/node/notify/channel';
import { NotifySettingsSchema, type NotifySettings } from '../src/node/notify/settings';
import { createSlackChannel } from '../src/node/notify/slack';
import { startServe, type RunningServe } from '../src/node/serve/server';
import type { Notification, PostedMessage } from '../src/shared/activity-types';
import type { ApprovalRequest } from '../src/shared/run-state';
import { tempDir } from './support/env';
import { answer, call, withWorker, type Harness } from './support/harness';
import { testRegistry, testRegistryLine } from './support/keys';
import { examplePolicy } from './support/policies';
import { toolStartedAt } from './support/tool-start';
import {
  buttonOf,
  buttonPress,
  modalSubmission,
  postToBridge,
  signedSlackRequest,
  TEST_SIGNING_SECRET,
} from './support/slack-requests';
import { startSlackStandIn, type RecordedCall, type SlackStandIn } from './support/slack-stand-in';

const HOSTILE = '<!channel> see <http://evil.example|click here> & <@U0BOSS>';
const refundTurns = (invoiceId = 1) => [
  call('issue_refund', { invoiceId, amountCents: 100, reason: 'duplicate charge' }, HOSTILE),
  answer('done'),
];

const example = { policy: { policy: examplePolicy, source: 'policies/example.yaml' } };
let standIn: SlackStandIn;
let bridgeKey: SigningKey;
let settings: NotifySettings;

before(async () => {
  standIn = await startSlackStandIn();
  const keys = tempDir('hitl-slack-keys-');
  createKey('slack-bridge', { dir: keys });
  bridgeKey = loadKey('slack-bridge', keys)!; // as `hitl serve --as slack-bridge` finds it
  settings = NotifySettingsSchema.parse({
    inboxUrl: 'http://127.0.0.1:4600',
    people: { sam: { slack: 'U0SAM' }, sue: { slack: 'U0SUE' }, Ada: { slack: 'U0ADA' } },
    channels: {
      'team-slack': { type: 'slack', conversation: 'C0HITL', tokenEnv: 'SLACK_TEST_TOKEN', apiUrl: standIn.apiUrl },
    },
  });
});
after(async () => {
  await standIn.close();
});

const channel = () =>
  createSlackChannel('team-slack', settings.channels['team-slack'] as never, { SLACK_TEST_TOKEN: 'xoxb-test' });
const context = (): DeliveryContext => ({
  recipients: [
    { name: 'sam', slack: 'U0SAM' },
    { name: 'sue', slack: 'U0SUE' },
  ],
  deliveryId: 'test',
  inboxUrl: 'http://127.0.0.1:4600',
  signal: new AbortController().signal,
});
const opened = (request: ApprovalRequest): Notification => ({
  kind: 'approval_requested',
  workflowId: request.workflowId,
  requestId: request.requestId,
  to: request.eligibleApprovers,
  text: `approval needed: ${request.summary}`,
  request,
});

/** Posts the request's message to the stand-in as the dispatcher would, and returns the call the stand-in recorded. */
async function postRequest(request: ApprovalRequest): Promise<{ posted: PostedMessage; call: RecordedCall }> {
  const { posted } = await channel().send(opened(request), context());
  assert.ok(posted !== undefined);
  const recorded = await standIn.waitForCall('chat.postMessage', (c) =>
    JSON.stringify(c.body).includes(request.requestId),
  );
  return { posted, call: recorded };
}

/** Runs `fn` with a worker whose registry lets the bridge sign for `signsFor`, and `hitl serve` in front of it. */
async function withBridge(signsFor: string[], fn: (h: Harness, serve: RunningServe) => Promise<void>): Promise<void> {
  const registry = testRegistry([testRegistryLine(bridgeKey, signsFor)]);
  await withWorker(
    async (h) => {
      const serve = await startServe({
        client: h.client,
        key: bridgeKey,
        settings,
        signingSecret: TEST_SIGNING_SECRET,
        slack: { token: 'xoxb-test', apiUrl: standIn.apiUrl },
        responseUrlPrefixes: [standIn.url],
      });
      try {
        await fn(h, serve);
      } finally {
        await serve.close();
      }
    },
    { ...example, registry },
  );
}

/** Presses a button of the request's message as a Slack user; returns the HTTP answer and where the bridge replies. */
async function press(serve: RunningServe, message: RecordedCall, user: string, actionId: string) {
  const responseUrl = standIn.responseUrl();
  const res = await postToBridge(
    serve.url,
    signedSlackRequest(buttonPress(user, actionId, buttonOf(message, actionId).value, responseUrl)),
  );
  return { ...res, responseId: responseUrl.split('/').pop()! };
}

const reply = (responseId: string) => standIn.waitForCall('response', (c) => c.responseId === responseId);
const replyText = async (responseId: string) => String((await reply(responseId)).body['text']);

describe('Slack: the channel', () => {
  it('posts the request as Block Kit with its buttons, model text escaped, and updates it in place when it closes', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted(refundTurns(), { goal: 'refund <!here>' });
      const [request] = await h.pending(run.workflowId);
      const { posted, call: message } = await postRequest(request!);
      assert.equal(message.token, 'xoxb-test');
      assert.deepEqual(posted, { channel: 'team-slack', target: 'C0HITL', ref: posted.ref });
      const text = JSON.stringify(message.body['blocks']);
      for (const raw of ['<!channel>', '<http://evil.example', '<!here>', '<@U0BOSS>'])
        assert.ok(!text.includes(raw), raw);
      assert.match(text, /&lt;!channel&gt; see &lt;http:\/\/evil.example\|click here&gt; &amp; &lt;@U0BOSS&gt;/);
      assert.match(text, /<@U0SAM>, <@U0SUE>/);
      assert.match(text, /0 of 1/);
      const value = JSON.parse(buttonOf(message, 'hitl_approve').value!) as Record<string, unknown>;
      assert.deepEqual(value, {
        w: run.workflowId,
        r: request!.requestId,
        h: request!.argsHash,
        v: 0,
        e: request!.effect?.sha256,
      });
      assert.equal(buttonOf(message, 'hitl_edit').url, 'http://127.0.0.1:4600');

      const closure = { kind: 'rejected' as const, by: ['sam'], text: 'rejected by sam: <!channel> no' };
      await channel().send({ ...opened(request!), kind: 'request_closed', closure, posted: [posted] }, context());
      const update = await standIn.waitForCall('chat.update', (c) => c.body['ts'] === posted.ref);
      const stored = standIn.messages.get(`C0HITL/${posted.ref}`)!;
      assert.equal(stored.updates, 1);
      assert.ok(!JSON.stringify(update.body['blocks']).includes('"actions"'), 'a closed request has no buttons');
      assert.match(JSON.stringify(update.body['blocks']), /rejected by sam: &lt;!channel&gt; no/);
    }, example);
  });

  it('throws a permanent error for a refused token or an unknown conversation, a plain one otherwise', async () => {
    const notification: Notification = { kind: 'reminder', workflowId: 'w', requestId: 'r', to: [], text: 'x' };
    const bad = createSlackChannel(
      's',
      { type: 'slack', conversation: 'C0HITL', tokenEnv: 'T', apiUrl: standIn.apiUrl },
      { T: 'xoxb-wrong' },
    );
    await assert.rejects(bad.send(notification, context()), PermanentDeliveryError);
    const unset = createSlackChannel(
      's',
      { type: 'slack', conversation: 'C0HITL', tokenEnv: 'T', apiUrl: standIn.apiUrl },
      {},
    );
    await assert.rejects(unset.send(notification, context()), /T is not set/);
    const nowhere = createSlackChannel(
      's',
      { type: 'slack', conversation: 'nowhere', tokenEnv: 'T', apiUrl: standIn.apiUrl },
      { T: 'xoxb-test' },
    );
    await assert.rejects(nowhere.send(notification, context()), /channel_not_found/);
    standIn.failNext('chat.postMessage', 'internal_error');
    await assert.rejects(channel().send(notification, context()), (err) => !(err instanceof PermanentDeliveryError));
  });
});

describe('Slack: decisions from the buttons', () => {
  it('runs the approved tool once on a signed Approve, signed by the bridge for the mapped person', async (t) => {
    await withBridge(['sam'], async (h, serve) => {
      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const run = await h.startScripted(refundTurns(1 + i));
        const [request] = await h.pending(run.workflowId);
        const { call: message } = await postRequest(request!);
        const pressedAt = Date.now();
        const { status, responseId } = await press(serve, message, 'U0SAM', 'hitl_approve');
        assert.equal(status, 200);
        await run.result();
        assert.match(await replyText(responseId), /Approved as sam, via slack-bridge: the request is closed/);
        const result = await runResult(h.client, run.workflowId);
        assert.equal(result.outcomes[0]?.status, 'executed', JSON.stringify(result.outcomes[0]));
        assert.equal(result.outcomes[0]?.decidedBy, 'sam');
        latencies.push((await toolStartedAt(h.client, run.workflowId, 'issue_refund')) - pressedAt);
      }
      assert.equal(countRefunds(h.db), 5);
      latencies.sort((a, b) => a - b);
      // The closing note asks for this figure: it shows in the test report.
      t.diagnostic(
        `Slack button POST to the approved tool starting: median ${latencies[2]} ms of ${latencies.join(', ')} ms`,
      );
    });
  });

  it('refuses replayed, tampered, stale and badly signed requests with 401, and decides nothing', async () => {
    await withBridge(['sam'], async (h, serve) => {
      const run = await h.startScripted(refundTurns());
      const [request] = await h.pending(run.workflowId);
      const { call: message } = await postRequest(request!);
      const approve = buttonPress(
        'U0SAM',
        'hitl_approve',
        buttonOf(message, 'hitl_approve').value,
        standIn.responseUrl('attack'),
      );
      const signed = signedSlackRequest(approve);
      const tampered = {
        ...signed,
        body: signed.body.replace(encodeURIComponent('U0SAM'), encodeURIComponent('U0ADA')),
      };
      assert.notEqual(tampered.body, signed.body);
      const refusals = [
        [tampered, 'bad signature'],
        [signedSlackRequest(approve, { at: Date.now() - 6 * 60_000 }), 'stale timestamp'],
        [signedSlackRequest(approve, { secret: 'not-the-secret' }), 'bad signature'],
        [{ ...signed, signature: '' }, 'unsigned request'],
      ] as const;
      for (const [req, reason] of refusals)
        assert.deepEqual(await postToBridge(serve.url, req), { status: 401, text: reason });
      const huge = signedSlackRequest({ ...(approve as object), padding: 'x'.repeat(300 * 1024) });
      assert.equal((await postToBridge(serve.url, huge)).status, 413);
      // The same request twice: only the first is taken.
      const edit = signedSlackRequest(buttonPress('U0SAM', 'hitl_edit', undefined, standIn.responseUrl()));
      assert.equal((await postToBridge(serve.url, edit)).status, 200);
      assert.deepEqual(await postToBridge(serve.url, edit), { status: 401, text: 'replayed request' });
      await serve.idle();
      const [still] = await pendingApprovals(h.client, run.workflowId);
      assert.equal(still?.approvals.length, 0);
      assert.equal(countRefunds(h.db), 0);
      assert.ok(!standIn.calls.some((c) => c.responseId === 'attack'), 'nothing was answered to the refused requests');

      const unmapped = await press(serve, message, 'U0NOBODY', 'hitl_approve');
      assert.match(await replyText(unmapped.responseId), /You are not mapped to an approver/);
    });
  });

  it('tells a Slack user mapped to someone the bridge may not sign for the workflow’s refusal', async () => {
    await withBridge(['sam'], async (h, serve) => {
      const run = await h.startScripted(refundTurns());
      const [request] = await h.pending(run.workflowId);
      const { call: message } = await postRequest(request!);
      const { responseId } = await press(serve, message, 'U0SUE', 'hitl_approve');
      assert.match(await replyText(responseId), /Refused: .*"slack-bridge" is not registered to sign for "sue"/);
      const [still] = await pendingApprovals(h.client, run.workflowId);
      assert.equal(still?.approvals.length, 0);
      assert.equal(countRefunds(h.db), 0);
    });
  });

  it('rejects through the modal: the request closes with the reason, and a refusal shows on the modal', async () => {
    await withBridge(['sam'], async (h, serve) => {
      const run = await h.startScripted(refundTurns());
      const [request] = await h.pending(run.workflowId);
      const { call: message } = await postRequest(request!);
      const pressed = await press(serve, message, 'U0SAM', 'hitl_reject');
      assert.equal(pressed.status, 200);
      const opened = await standIn.waitForCall('views.open', (c) =>
        JSON.stringify(c.body).includes(request!.requestId),
      );
      assert.match(String(opened.body['trigger_id']), /^trigger-/);
      const view = opened.body['view'] as Record<string, unknown>;
      assert.equal(view['callback_id'], 'hitl_reject');

      const asSue = await postToBridge(serve.url, signedSlackRequest(modalSubmission('U0SUE', view, 'no')));
      assert.equal(asSue.status, 200);
      const errors = JSON.parse(asSue.text) as { response_action: string; errors: Record<string, string> };
      assert.equal(errors.response_action, 'errors');
      assert.match(errors.errors['hitl_text'] ?? '', /not registered to sign for "sue"/);

      const reason = 'the customer was refunded by phone <!channel>';
      const submitted = await postToBridge(serve.url, signedSlackRequest(modalSubmission('U0SAM', view, reason)));
      assert.deepEqual(submitted, { status: 200, text: '' });
      const result = await runResult(h.client, run.workflowId);
      assert.equal(result.outcomes[0]?.status, 'rejected');
      assert.equal(result.outcomes[0]?.decidedBy, 'sam');
      assert.equal(countRefunds(h.db), 0);
      const decision = (await auditTrail(h.client, run.workflowId)).find((e) => e.kind === 'decision');
      assert.equal(decision?.actor, 'sam, via slack-bridge');
      assert.ok(decision?.detail.includes(reason), decision?.detail);
      const trail = await standIn.waitForCall('response', (c) => c.responseId === pressed.responseId);
      assert.match(String(trail.body['text']), /Rejected as sam, via slack-bridge/);
    });
  });
});
