import { zeroCounts } from '../workflows/run/progress';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { colourWanted } from '../src/node/cli/colour';
import { formatAudit, formatShow } from '../src/node/cli/format';
import { MAX_ALTERNATIVES, splitAlternatives } from '../src/shared/model/alternatives';
import { renderApprovalRequest, renderCurrentDetails } from '../src/shared/render/approval';
import { displayJson, escapeMarkdown, escapeTerminal, markdownCode, shellJson } from '../src/shared/render/escape';
import { renderPause, resumeCommands } from '../src/shared/render/pause';
import type { ApprovalRequest, AuditEntry, RunPause, RunStatus } from '../src/shared/run-state';
import type { Notification } from '../src/shared/activity-types';
import { notificationSubject, notificationText } from '../src/node/notify/message-text';
import { findTool } from '../src/shared/tools/catalog';

const planPause: RunPause = {
  pauseId: 'p-1',
  kind: 'plan_review',
  detail: 'the agent proposes a plan of 1 step(s); approve, edit or reject it once',
  actions: ['approve', 'edit', 'reject'],
  openedAt: '2026-11-22T10:00:00.000Z',
  deadline: '2026-11-22T10:30:00.000Z',
  onTimeout: 'reject',
  eligible: ['ada', 'sam'],
  separationOfDuties: true,
  plan: [
    {
      tool: 'issue_refund',
      args: { invoiceId: 1, amountCents: 992, reason: 'dup' },
      argsHash: 'a'.repeat(64),
      gate: 'hard',
      summary: 'Refund $9.92 on invoice #1 (reason: dup)',
    },
  ],
};

describe('what the model offered instead', () => {
  it('reads one alternative per "Alternative:" line and keeps the other lines as the reasoning', () => {
    const text = 'Invoice 1 was paid twice.\nAlternative: a store credit\n- alternative 2: do nothing for now';
    assert.deepEqual(splitAlternatives(text), {
      reasoning: 'Invoice 1 was paid twice.',
      alternatives: ['a store credit', 'do nothing for now'],
    });
  });

  it('reads a list under an "Alternatives:" heading until the list ends, and a semicolon list on one line', () => {
    const text = 'Alternatives:\n- a store credit\n2) a partial refund\nThat is all.\n- not an alternative';
    assert.deepEqual(splitAlternatives(text), {
      reasoning: 'That is all.\n- not an alternative',
      alternatives: ['a store credit', 'a partial refund'],
    });
    assert.deepEqual(splitAlternatives('Alternatives: credit; partial refund').alternatives, [
      'credit',
      'partial refund',
    ]);
  });

  it('finds nothing in plain reasoning or no text, and keeps at most five, each cut to 300 characters', () => {
    const plain = 'I refund it because it was charged twice; no other option.';
    assert.deepEqual(splitAlternatives(plain), { reasoning: plain, alternatives: [] });
    assert.deepEqual(splitAlternatives(null), { reasoning: '', alternatives: [] });
    const many = splitAlternatives(Array.from({ length: 8 }, (_, i) => `Alternative: option ${i}`).join('\n'));
    assert.equal(many.alternatives.length, MAX_ALTERNATIVES);
    const [long] = splitAlternatives(`Alternative: ${'x'.repeat(500)}`).alternatives;
    assert.equal(long?.length, 300);
  });
});

describe('rendering a pause', () => {
  it('shows the plan step by step, who may answer, the deadline and what happens then', () => {
    const text = renderPause(planPause);
    assert.match(text, /^Paused \(plan review\): the agent proposes a plan/);
    assert.match(text, /1\. Refund \$9\.92 on invoice #1 \(reason: dup\) \[hard gate\]/);
    assert.match(text, /who may answer: ada, sam; not the person who requested the run/);
    assert.match(text, /deadline: 2026-11-22T10:30:00\.000Z; then reject \(never an approval\)/);
  });

  it('gives a command per answer, with the current plan filled in for an edit', () => {
    const commands = resumeCommands('agent-1', planPause);
    assert.match(commands, /hitl resume agent-1 approve --as YOUR_NAME/);
    assert.match(commands, /hitl resume agent-1 reject --as YOUR_NAME --reason "why"/);
    assert.match(commands, /--steps '\[\{"tool":"issue_refund","args":\{"invoiceId":1,"amountCents":992/);
  });

  it('puts the pause first in the Web UI details, with its Markdown escaped', () => {
    const md = renderCurrentDetails({
      workflowId: 'agent-1',
      goal: 'refund $9.92',
      pending: [],
      pause: planPause,
      idle: 'idle',
    });
    assert.match(md, /^### Paused: plan review/);
    assert.match(md, /Goal: refund \\\$9\.92/);
    assert.match(md, /`npx hitl resume agent-1 approve --as NAME`/);
    assert.equal(renderCurrentDetails({ workflowId: 'agent-1', goal: 'g', pending: [], idle: 'idle' }), 'idle');
  });
});

/** A $49.99 refund waiting for finance, its summary written by the tool from the model's arguments. */
function refundRequest(reason: string): ApprovalRequest {
  const args = { invoiceId: 1, amountCents: 4999, reason };
  return {
    requestId: '6f1c2a34-0d1e-4c55-9b7a-1e2f3a4b5c6d',
    workflowId: 'agent-1',
    toolCallId: 'call-1',
    tool: 'issue_refund',
    args,
    argsHash: 'a'.repeat(64),
    classification: {
      reversibility: 'irreversible',
      blastRadius: 'single_record',
      externalEffects: ['payment'],
      financialImpact: 'refund',
    },
    gate: 'hard',
    because: 'refunds over $20 need finance',
    policyVersion: '3',
    effect: { lines: ['invoice #1: total $49.99, nothing refunded yet'], sha256: 'c'.repeat(64), facts: {} },
    summary: findTool('issue_refund')!.describe(args),
    reasoning: `The customer was charged twice: ${reason}`,
    alternatives: ['a store credit'],
    goal: 'Refund the duplicate charge on invoice 1',
    requestedBy: 'bob',
    requestedAt: '2026-11-22T10:00:00.000Z',
    stage: 0,
    stages: [{ groups: ['finance'], timeoutMs: 3_600_000 }],
    eligibleApprovers: ['felix', 'fiona', 'frank'],
    quorum: 2,
    approvals: [],
    separationOfDuties: true,
    deadline: '2026-11-22T11:00:00.000Z',
    onTimeout: 'deny',
  };
}

const status: RunStatus = {
  workflowId: 'agent-1',
  goal: 'Refund the duplicate charge on invoice 1',
  requestedBy: 'bob',
  phase: 'awaiting_approval',
  step: 1,
  pendingRequests: 1,
  counts: zeroCounts(),
  policyVersion: '3',
  spentUsd: 0.0012,
  earlierRuns: [],
};

/**
 * What a terminal shows for `text`, as far as the attacks here need: `\r` returns to the line's start, `ESC[2K`
 * erases the line, `ESC[8m` hides what follows until `ESC[0m`, other escape sequences do nothing visible.
 */
function screen(text: string): string[] {
  const rows: string[][] = [[]];
  let col = 0;
  let hidden = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i]!;
    const row = rows[rows.length - 1]!;
    // eslint-disable-next-line no-control-regex -- reading escape sequences is the point
    const csi = /^\x1b\[([0-9;]*)([A-Za-z])/.exec(text.slice(i));
    if (csi !== null) {
      if (csi[0] === '\x1b[2K') row.length = 0;
      if (csi[2] === 'm') hidden = csi[1] === '8' ? true : csi[1] === '0' || csi[1] === '' ? false : hidden;
      i += csi[0].length - 1;
    } else if (ch === '\r') col = 0;
    else if (ch === '\n') {
      rows.push([]);
      col = 0;
    } else {
      row[col] = hidden ? ' ' : ch;
      col += 1;
    }
  }
  return rows.map((r) =>
    Array.from(r, (c) => c ?? ' ')
      .join('')
      .trimEnd(),
  );
}

describe('escaping what the model, tools and clients wrote', () => {
  const overwrite = 'dup\r\x1b[2KRefund $0.49 on invoice #1 (reason: dup)\x1b[8m';

  it('shows a $49.99 refund as $49.99 when its reason tries to overwrite it with $0.49 and hide the rest', () => {
    const req = refundRequest(overwrite);
    // Printed raw, as before: the terminal shows $0.49 and nothing after it.
    const raw = screen(`${req.summary}\n- arguments: ${JSON.stringify(req.args)}`);
    assert.deepEqual(raw, ['Refund $0.49 on invoice #1 (reason: dup)', '']);

    const text = renderApprovalRequest(req);
    assert.deepEqual(screen(text), text.split('\n'), 'the terminal shows exactly the characters printed');
    const [summary] = text.split('\n');
    assert.equal(
      summary,
      'Refund $49.99 on invoice #1 (reason: dup\\r\\x1b[2KRefund $0.49 on invoice #1 (reason: dup)\\x1b[8m)',
    );
    assert.match(text, /^- arguments: \{"invoiceId":1,"amountCents":4999,"reason":"dup\\r\\u001b\[2KRefund/m);
    assert.match(text, /^- request: 6f1c2a34-/m, 'the last fact is still there');
    assert.equal(text.split('\n').length, renderApprovalRequest(refundRequest('dup')).split('\n').length);

    const show = formatShow(status, [req]);
    assert.deepEqual(screen(show), show.split('\n'));
    assert.equal(show.split('\n').length, formatShow(status, [refundRequest('dup')]).split('\n').length);
  });

  it('keeps an email notification of that refund to one subject line and its own lines of text', () => {
    const hostile = refundRequest(overwrite);
    const n = (request: ApprovalRequest): Notification => ({
      kind: 'approval_requested',
      workflowId: 'agent-1',
      requestId: request.requestId,
      to: ['fiona'],
      text: `${request.summary} needs 2 approval(s)`,
      request,
    });
    const subject = notificationSubject(n(hostile));
    for (const raw of ['\r', '\n', '\x1b'])
      assert.ok(!subject.includes(raw), 'no raw line break or escape in the subject');
    assert.match(subject, /^\[hitl\] Approval needed: Refund \$49\.99 on invoice #1 \(reason: dup\\r\\x1b/);
    const text = notificationText(n(hostile), 'http://127.0.0.1:8788');
    assert.deepEqual(screen(text), text.split('\n'), 'the text shows exactly the characters sent');
    assert.equal(
      text.split('\n').length,
      notificationText(n(refundRequest('dup')), 'http://127.0.0.1:8788').split('\n').length,
    );
  });

  it('keeps a refused signal on its own audit line when its request id and reason hold newlines', () => {
    const fake = '\n  7 2026-11-22T10:05:00.000Z  decision           fiona      [6f1c2a34] approve';
    const entries: AuditEntry[] = [
      {
        seq: 5,
        at: '2026-11-22T10:00:00.000Z',
        kind: 'approval_requested',
        actor: 'agent',
        requestId: '6f1c2a34-0d1e-4c55-9b7a-1e2f3a4b5c6d',
        detail: 'Refund $49.99 on invoice #1 (reason: dup)',
      },
      {
        seq: 6,
        at: '2026-11-22T10:04:00.000Z',
        kind: 'decision_refused',
        actor: `mallory${fake}`,
        requestId: '\n  8 x',
        detail:
          `signal refused: no pending request "x${fake}` +
          '\n  8 2026-11-22T10:05:01.000Z  tool_executed      system     [6f1c2a34] issue_refund ran"',
      },
    ];
    const lines = formatAudit(entries).split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^ {2}5 2026-11-22T10:00:00\.000Z {2}approval_requested agent {6}\[6f1c2a34\] Refund/);
    assert.match(lines[1]!, /^ {2}6 2026-11-22T10:04:00\.000Z {2}decision_refused {3}mallory\\n {2}7 2026/);
    assert.match(lines[1]!, /\[\\n {2}8 x\] signal refused: no pending request "x\\n {2}7 .*\\n {2}8 .*tool_executed/);
  });

  it('shows arguments in the Web UI as JSON in a code span, where no quote turns typographic', () => {
    const md = renderCurrentDetails({
      workflowId: 'agent-1',
      goal: 'refund "the" duplicate',
      pending: [refundRequest('it`s a ``dup``\r\x1b[8m')],
      idle: 'idle',
    });
    assert.ok(
      md.includes('- arguments: ```{"invoiceId":1,"amountCents":4999,"reason":"it`s a ``dup``\\r\\u001b[8m"}```'),
      md,
    );
    assert.ok(md.includes('`npx hitl approve agent-1 6f1c2a34-0d1e-4c55-9b7a-1e2f3a4b5c6d --as NAME`'));
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    assert.doesNotMatch(md, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    const summary = '**Refund \\$49.99 on invoice \\#1 \\(reason: it\\`s a \\`\\`dup\\`\\`\\\\r\\\\x1b\\[8m\\)**';
    assert.ok(md.split('\n').includes(summary), 'the summary shows its backticks and controls as written');
  });

  it('escapes every control, bidi control and line separator visibly, and a backslash, so nothing can be faked', () => {
    assert.equal(
      escapeTerminal('a\\x1b\x1b[2K\r\n\t\x00\x7f\x9b\u2028\u202e\u2066b'),
      'a\\\\x1b\\x1b[2K\\r\\n\\t\\x00\\x7f\\x9b\\u{2028}\\u{202E}\\u{2066}b',
    );
    assert.equal(escapeTerminal('Ünïcödé 💸 ok'), 'Ünïcödé 💸 ok');
    assert.equal(displayJson({ r: 'a\x1b\x9b\u202e"\\' }), '{"r":"a\\u001b\\u009b\\u202e\\"\\\\"}');
    assert.deepEqual(JSON.parse(displayJson({ r: 'a\x9b\u2028' })), { r: 'a\x9b\u2028' });
    assert.equal(escapeMarkdown('$5 & <b>[x](y)\n# no'), '\\$5 \\& \\<b\\>\\[x\\]\\(y\\)\\\\n\\# no');
    assert.equal(markdownCode('a``b'), '```a``b```');
    assert.equal(markdownCode('`a'), '`` `a ``');
    assert.equal(shellJson({ reason: "it's; rm -rf ~" }), `'{"reason":"it'\\''s; rm -rf ~"}'`);
  });

  it('quotes the run id and the plan in commands a person pastes', () => {
    const commands = resumeCommands('agent-1; rm -rf ~', {
      ...planPause,
      plan: [{ ...planPause.plan![0]!, args: { invoiceId: 1, amountCents: 992, reason: "it's a dup" } }],
    });
    assert.match(commands, /hitl resume 'agent-1; rm -rf ~' approve --as YOUR_NAME/);
    assert.match(commands, /--steps '\[\{"tool":"issue_refund","args":\{.*"reason":"it'\\''s a dup"\}\}\]'$/m);
  });
});

describe('colour in the CLI', () => {
  it('colours a terminal only, whatever CI says, and honours NO_COLOR, --no-color and FORCE_COLOR', () => {
    assert.equal(colourWanted({}, [], true), true);
    assert.equal(colourWanted({ TERM: 'dumb' }, [], true), false);
    assert.equal(colourWanted({}, [], false), false);
    assert.equal(colourWanted({ CI: 'true' }, [], false), false, 'a CI log is not a terminal');
    assert.equal(colourWanted({ NO_COLOR: '1' }, [], true), false);
    assert.equal(colourWanted({}, ['--no-color'], true), false);
    assert.equal(colourWanted({ FORCE_COLOR: '1' }, [], false), true);
    assert.equal(colourWanted({ FORCE_COLOR: '0' }, [], true), false);
    assert.equal(colourWanted({ FORCE_COLOR: '1', NO_COLOR: '1' }, [], false), false);
  });
});
