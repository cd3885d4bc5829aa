import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { countRefunds } from '../activities/billing/index';
import { auditTrail } from '../client';
import { NotificationDispatcher } from '../src/node/notify/dispatcher';
import { webhookSignature } from '../src/node/notify/webhook';
import { NotifySettingsSchema, type NotifySettings } from '../src/node/notify/settings';
import type { Notification } from '../src/shared/activity-types';
import type { AuditEntry } from '../src/shared/run-state';
import { LocalMailServer, WebhookReceiver } from '../scripts/local-receivers';
import { approveAs } from './support/decisions';
import { startSlackStandIn } from './support/slack-stand-in';
import { waitFor } from './support/env';
import { answer, call, withWorker } from './support/harness';
import { examplePolicy } from './support/policies';

const SECRET = 'a webhook secret for the tests';
const example = { policy: examplePolicy, source: 'policies/example.yaml' };
const refund = (amountCents: number, invoiceId = 1) => ({ invoiceId, amountCents, reason: 'duplicate charge' });

function settingsFor(
  hook: WebhookReceiver,
  mail: LocalMailServer,
  extra: Partial<NotifySettings> = {},
): NotifySettings {
  return NotifySettingsSchema.parse({
    people: {
      sam: { email: 'sam@example.com' },
      sue: { email: 'sue@example.com' },
      fiona: { email: 'fiona@example.com' },
    },
    channels: {
      'ops-hook': { type: 'webhook', url: hook.url, secretEnv: 'TEST_HOOK_SECRET' },
      'approver-mail': { type: 'email', smtp: mail.url, from: 'hitl <hitl@example.com>' },
      ...extra.channels,
    },
    routes: [
      { channels: ['ops-hook'] },
      { groups: ['support', 'finance'], channels: ['approver-mail'] },
      ...(extra.routes ?? []),
    ],
  });
}

const env = { TEST_HOOK_SECRET: SECRET, TEST_BROKEN_SECRET: SECRET };
const fast = { attempts: 2, initialDelayMs: 100, maxDelayMs: 200, tryTimeoutMs: 1500 };

/** Waits until the receiver has the notification of `kind` about a request. */
function webhookOf(hook: WebhookReceiver, requestId: string, kind: Notification['kind']) {
  return waitFor(
    () =>
      hook.received.find((r) => {
        const n = r.json as Notification;
        return n.requestId === requestId && n.kind === kind;
      }),
    `the ${kind} webhook for ${requestId}`,
  );
}

function notificationsOf(entries: AuditEntry[]): AuditEntry[] {
  return entries.filter((e) => e.kind === 'notification');
}

describe('notifications', () => {
  let hook: WebhookReceiver;
  let mail: LocalMailServer;
  before(async () => {
    hook = await WebhookReceiver.start(SECRET);
    mail = await LocalMailServer.start();
  });
  after(async () => {
    await hook.close();
    await mail.close();
  });

  it('reaches the webhook (signed) and the approvers by email when a request opens and when it closes', async () => {
    const dispatcher = new NotificationDispatcher(settingsFor(hook, mail), { env, retry: fast });
    await withWorker(
      async (h) => {
        const run = await h.startScripted([call('issue_refund', refund(500)), answer('refunded')], {
          policy: examplePolicy.version,
        });
        const [request] = await h.pending(run.workflowId);
        assert.ok(request);
        const opened = await waitFor(
          () => hook.received.find((r) => (r.json as Notification).requestId === request.requestId),
          'the webhook for the opened request',
        );
        assert.equal(opened.verified, true, 'the signature verifies under the shared secret');
        const body = opened.json as Notification & { deliveryId: string };
        assert.equal(body.kind, 'approval_requested');
        assert.deepEqual(body.request?.args, refund(500));
        assert.deepEqual(body.to, ['sam', 'sue']);
        assert.equal(opened.headers['x-hitl-delivery'], body.deliveryId);
        const email = await waitFor(
          () => mail.received.find((m) => m.text.includes(request.requestId)),
          'the email to support',
        );
        assert.deepEqual(email.to.sort(), ['sam@example.com', 'sue@example.com']);
        assert.match(email.subject, /^\[hitl\] Approval needed: /);
        assert.match(email.text, /npx hitl approve /);

        await approveAs(h.client, run.workflowId, request, 'sam');
        await run.result();
        assert.equal(countRefunds(h.db), 1);
        const closed = await webhookOf(hook, request.requestId, 'request_closed');
        assert.equal((closed.json as Notification).closure?.kind, 'approved');
        assert.deepEqual((closed.json as Notification).closure?.by, ['sam']);

        const sent = notificationsOf(await auditTrail(h.client, run.workflowId));
        assert.deepEqual(
          sent.map((e) => [e.detail.split(' ')[0], e.facts?.delivered, e.facts?.failed]),
          [
            ['approval_requested', ['log', 'ops-hook', 'approver-mail'], []],
            ['request_closed', ['log', 'ops-hook', 'approver-mail'], []],
          ],
        );
      },
      { policy: example, notifications: dispatcher },
    );
    await dispatcher.close();
  });

  it('tells finance of each approval toward its quorum of two', async () => {
    const dispatcher = new NotificationDispatcher(settingsFor(hook, mail), { env, retry: fast });
    await withWorker(
      async (h) => {
        const run = await h.startScripted([call('issue_refund', refund(6000, 2)), answer('refunded')]);
        const [request] = await h.pending(run.workflowId);
        assert.ok(request);
        await approveAs(h.client, run.workflowId, request, 'fiona');
        const progress = await webhookOf(hook, request.requestId, 'quorum_progress');
        assert.match((progress.json as Notification).text, /fiona approved .*1 more approval\(s\) needed/);
        await approveAs(h.client, run.workflowId, request, 'frank');
        await run.result();
        assert.equal(countRefunds(h.db), 1);
      },
      { policy: example, notifications: dispatcher },
    );
    await dispatcher.close();
  });

  it('never holds up the gate: a channel that hangs fails on the audit trail after the approved call ran', async () => {
    const broken = await WebhookReceiver.start(SECRET);
    broken.answer = 'hang';
    const settings = settingsFor(hook, mail, {
      channels: { 'broken-hook': { type: 'webhook', url: broken.url, secretEnv: 'TEST_BROKEN_SECRET' } },
      routes: [{ channels: ['broken-hook'] }],
    });
    const dispatcher = new NotificationDispatcher(settings, { env, retry: fast });
    try {
      await withWorker(
        async (h) => {
          const run = await h.startScripted([call('issue_refund', refund(500)), answer('refunded')]);
          const [request] = await h.pending(run.workflowId);
          assert.ok(request);
          await approveAs(h.client, run.workflowId, request, 'sue');
          await run.result();
          assert.equal(countRefunds(h.db), 1);
          const entries = await auditTrail(h.client, run.workflowId);
          const executed = entries.find((e) => e.kind === 'tool_executed');
          const opened = notificationsOf(entries).find((e) => e.detail.startsWith('approval_requested'));
          assert.ok(executed && opened);
          assert.ok(executed.seq < opened.seq, 'the refund ran before the hanging channel gave up');
          assert.deepEqual(opened.facts?.failed, ['broken-hook']);
          assert.deepEqual(opened.facts?.delivered, ['log', 'ops-hook', 'approver-mail']);
          assert.match(opened.detail, /broken-hook FAILED \(.*(timeout|aborted)/i);
          assert.equal(broken.received.filter((r) => (r.json as Notification).kind === 'approval_requested').length, 2);
        },
        { policy: example, notifications: dispatcher },
      );
    } finally {
      await dispatcher.close();
      await broken.close();
    }
  });
});

describe('notifications to Slack, through the run', () => {
  it('posts the request with its buttons, then updates the same message in place when it closes', async () => {
    const slack = await startSlackStandIn();
    const settings = NotifySettingsSchema.parse({
      people: { sam: { slack: 'U0SAM' }, sue: { slack: 'U0SUE' } },
      channels: {
        'team-slack': { type: 'slack', conversation: 'C0HITL', tokenEnv: 'TEST_SLACK_TOKEN', apiUrl: slack.apiUrl },
      },
      routes: [{ groups: ['support'], channels: ['team-slack'] }],
    });
    const dispatcher = new NotificationDispatcher(settings, { env: { TEST_SLACK_TOKEN: 'xoxb-test' }, retry: fast });
    try {
      await withWorker(
        async (h) => {
          const run = await h.startScripted([call('issue_refund', refund(500)), answer('refunded')]);
          const [request] = await h.pending(run.workflowId);
          assert.ok(request);
          const posted = await slack.waitForCall('chat.postMessage');
          const blocks = JSON.stringify(posted.body['blocks']);
          assert.match(blocks, /hitl_approve/);
          assert.match(blocks, /<@U0SAM>/);
          assert.match(blocks, new RegExp(request.requestId));
          await approveAs(h.client, run.workflowId, request, 'sam');
          await run.result();
          const updated = await slack.waitForCall('chat.update');
          const message = slack.messages.get(`${String(updated.body['channel'])}/${String(updated.body['ts'])}`);
          assert.ok(message, 'the update names the posted message');
          assert.equal(message.updates, 1);
          assert.doesNotMatch(JSON.stringify(message.blocks), /hitl_approve/, 'no buttons once closed');
          assert.match(JSON.stringify(message.blocks), /approved by sam/);
          assert.equal(slack.calls.filter((c) => c.method === 'chat.postMessage').length, 1);
        },
        { policy: example, notifications: dispatcher },
      );
    } finally {
      await dispatcher.close();
      await slack.close();
    }
  });
});

describe('notification settings', () => {
  it('refuses a route to a channel that does not exist, naming it', () => {
    const parsed = NotifySettingsSchema.safeParse({ channels: {}, routes: [{ channels: ['nowhere'] }] });
    assert.equal(parsed.success, false);
    assert.match(JSON.stringify(parsed.error?.issues), /no channel named \\"nowhere\\"/);
  });

  it('refuses a webhook channel whose secret is unset, naming the variable', () => {
    const settings = NotifySettingsSchema.parse({
      channels: { hook: { type: 'webhook', url: 'http://127.0.0.1:9/x', secretEnv: 'UNSET_SECRET' } },
    });
    assert.throws(() => new NotificationDispatcher(settings, { env: {} }), /set UNSET_SECRET/);
  });

  it('signs a webhook body the way the receiver recomputes it', () => {
    const expected = `v1=${createHmac('sha256', SECRET).update('1700000000.{"a":1}').digest('hex')}`;
    assert.equal(webhookSignature(SECRET, '1700000000', '{"a":1}'), expected);
    assert.notEqual(webhookSignature(SECRET, '1700000001', '{"a":1}'), expected);
  });
});
