import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_ALTERNATIVES, splitAlternatives } from '../src/shared/model/alternatives';
import { renderCurrentDetails } from '../src/shared/render/approval';
import { renderPause, resumeCommands } from '../src/shared/render/pause';
import type { RunPause } from '../src/shared/run-state';

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
    assert.match(md, /`hitl resume agent-1 approve --as NAME`/);
    assert.equal(renderCurrentDetails({ workflowId: 'agent-1', goal: 'g', pending: [], idle: 'idle' }), 'idle');
  });
});
