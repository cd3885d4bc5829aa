import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { messageFor, type SlackBlock } from '../src/node/slack/blocks';
import { relativeTime } from '../src/shared/render/relative-time';
import { decisionModal, parseModalMetadata } from '../src/node/slack/modal';
import { clip, escapeSlack, SLACK_LIMITS } from '../src/node/slack/mrkdwn';
import { ReplayGuard, slackSignature, verifySlackRequest } from '../src/node/serve/slack-signature';
import type { Notification } from '../src/shared/activity-types';
import type { ApprovalRequest, RunPause } from '../src/shared/run-state';

const now = new Date('2026-12-02T10:00:00.000Z');
const hash = 'a'.repeat(64);

function request(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    requestId: 'req-1',
    workflowId: 'agent-1',
    toolCallId: 'c1',
    tool: 'issue_refund',
    args: { invoiceId: 1, amountCents: 500 },
    argsHash: hash,
    gate: 'hard',
    because: 'issue_refund default gate',
    policyVersion: 'v1',
    summary: 'Refund $5.00',
    reasoning: 'duplicate',
    alternatives: [],
    goal: 'refund',
    requestedBy: 'tester',
    requestedAt: '2026-12-02T09:00:00.000Z',
    stage: 0,
    stages: [{ groups: ['support'], timeoutMs: 1_800_000 }],
    eligibleApprovers: ['sam'],
    quorum: 1,
    approvals: [],
    separationOfDuties: true,
    deadline: '2026-12-02T10:25:00.000Z',
    onTimeout: 'deny',
    ...overrides,
  };
}

const texts = (blocks: SlackBlock[]): string => JSON.stringify(blocks);

describe('Slack: Block Kit', () => {
  it('escapes mrkdwn: no mention, link or command from a model survives', () => {
    assert.equal(
      escapeSlack('<!channel> <http://evil|click> & <@U1>'),
      '&lt;!channel&gt; &lt;http://evil|click&gt; &amp; &lt;@U1&gt;',
    );
    assert.equal(escapeSlack('a\u202Eb\nc'), 'a\\u{202E}b\\nc');
  });

  it("keeps every section within Slack's 3000 characters and cuts no entity in half", () => {
    const long = '&'.repeat(5000);
    const blocks = messageFor(
      {
        kind: 'approval_requested',
        workflowId: 'agent-1',
        requestId: 'req-1',
        to: [],
        text: 't',
        request: request({ summary: long, reasoning: long }),
      },
      { slackIds: new Map(), now },
    ).blocks;
    for (const b of blocks) {
      const text = (b['text'] as { text?: string } | undefined)?.text ?? '';
      assert.ok(text.length <= SLACK_LIMITS.sectionText, `${b.type} has ${text.length} characters`);
      assert.doesNotMatch(text, /&(?!amp;|lt;|gt;)/);
    }
    assert.equal(clip('&amp;&amp;', 8), '&amp;…');
  });

  it('says the deadline relatively and mentions mapped deciders', () => {
    assert.equal(relativeTime('2026-12-02T10:25:00.000Z', now.getTime()), 'in 25 min');
    assert.equal(relativeTime('2026-12-02T07:00:00.000Z', now.getTime()), 'overdue by 3 h');
    const text = texts(
      messageFor(
        {
          kind: 'reminder',
          workflowId: 'agent-1',
          requestId: 'req-1',
          to: ['sam', 'sue'],
          text: 't',
          request: request(),
        },
        { slackIds: new Map([['sam', 'U0SAM']]), now },
      ).blocks,
    );
    assert.match(text, /in 25 min/);
    assert.match(text, /<@U0SAM>, sue/);
    assert.doesNotMatch(text, /hitl_edit/, 'no Edit button without an inbox');
  });

  it('shows a paused run with its detail and answers, and a link to the inbox', () => {
    const pause: RunPause = {
      pauseId: 'p1',
      kind: 'budget',
      detail: 'spent $12 of $10 <!here>',
      actions: ['continue', 'stop'],
      openedAt: '2026-12-02T09:50:00.000Z',
      deadline: '2026-12-02T11:00:00.000Z',
      onTimeout: 'stop',
      eligible: ['ada'],
      separationOfDuties: false,
    };
    const n: Notification = {
      kind: 'run_paused',
      workflowId: 'agent-1',
      requestId: 'p1',
      to: [],
      text: 'paused',
      pause,
      goal: 'g',
    };
    const text = texts(messageFor(n, { slackIds: new Map(), inboxUrl: 'http://127.0.0.1:4600', now }).blocks);
    assert.match(text, /spending budget reached/);
    assert.match(text, /spent \$12 of \$10 &lt;!here&gt;/);
    assert.match(text, /continue \(the run goes on\)/);
    assert.match(text, /"url":"http:\/\/127.0.0.1:4600"/);
  });

  it('carries the request and the response URL through the modal, within its metadata limit', () => {
    const ref = { w: 'agent-1', r: 'req-1', h: hash, v: 2, e: hash };
    const modal = decisionModal('reject', ref, 'https://hooks.slack.com/actions/T/1/x');
    assert.deepEqual(parseModalMetadata(modal.private_metadata), { ref, u: 'https://hooks.slack.com/actions/T/1/x' });
    const huge = decisionModal('respond', ref, `https://hooks.slack.com/${'x'.repeat(990)}`);
    assert.ok(huge.private_metadata.length <= SLACK_LIMITS.privateMetadata);
    assert.equal(parseModalMetadata('{"ref":{"w":"x"}}'), undefined);
  });
});

describe('Slack: request signatures', () => {
  const secret = 's3cret';
  const body = Buffer.from('payload=%7B%7D');
  const at = 1_796_000_000;
  const signed = { timestamp: String(at), signature: slackSignature(secret, String(at), body), body };

  it('takes a fresh, correctly signed request once', () => {
    const guard = new ReplayGuard();
    assert.deepEqual(verifySlackRequest(signed, secret, guard, at * 1000 + 299_000), { ok: true });
    assert.deepEqual(verifySlackRequest(signed, secret, guard, at * 1000 + 1000), {
      ok: false,
      reason: 'replayed request',
    });
  });

  it('refuses a stale or future timestamp, a tampered body, another secret and a malformed header', () => {
    const guard = new ReplayGuard();
    const refused = (r: typeof signed, nowMs = at * 1000) => {
      const verdict = verifySlackRequest(r, secret, guard, nowMs);
      return verdict.ok ? 'taken' : verdict.reason;
    };
    assert.equal(refused(signed, at * 1000 + 301_000), 'stale timestamp');
    assert.equal(refused(signed, at * 1000 - 301_000), 'stale timestamp');
    assert.equal(refused({ ...signed, body: Buffer.from('payload=%7B%7D ') }), 'bad signature');
    assert.equal(refused({ ...signed, signature: slackSignature('other', String(at), body) }), 'bad signature');
    assert.equal(refused({ ...signed, signature: 'v1=abc' }), 'malformed signature');
    assert.equal(refused({ ...signed, timestamp: '1e9' }), 'malformed timestamp');
  });

  it('refuses new requests rather than forget one inside the window when its memory is full', () => {
    const guard = new ReplayGuard(1);
    assert.equal(guard.admit('a', 0, 0), true);
    assert.equal(guard.admit('b', 0, 1000), false);
    assert.equal(guard.admit('b', 400_000, 400_000), true, 'an entry out of the window makes room');
  });
});
