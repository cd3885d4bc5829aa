import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditTrail, pendingApprovals, runResult, startAgentRun } from '../../client';
import { parseToolResultText } from '../../src/shared/model/tool-result';
import { chatError, startChatResponder, viewConversation, type ConversationView } from '../support/chat-responder';
import { approveAs } from '../support/decisions';
import { waitFor } from '../support/env';
import { chatCompletion, type FakeChatResponse, type FakeToolCall } from '../support/fake-chat-server';
import { testKey } from '../support/keys';
import { withWorker } from '../support/harness';
import { examplePolicy } from '../support/policies';
import { report, rowsPerKey } from './support';

// The model endpoint misbehaves in every way a chat-completions server can: rate limit storms, server errors, answers
// slower than the client waits, bodies that are not completions, tool calls with broken JSON, tool calls naming tools
// that do not exist (named like a decision) and arguments of the wrong shape. One run per fault, all at once, on one
// worker whose openai client gives up after CLIENT_TIMEOUT_MS. A run's n-th request gets its script's n-th answer.

const CLIENT_TIMEOUT_MS = 1_500;
const refund = { invoiceId: 3, amountCents: 7, reason: 'duplicate' };
const final = (content: string) => chatCompletion({ content });
const proposing = (...toolCalls: FakeToolCall[]) => chatCompletion({ content: 'Proposing.', toolCalls });

/** One fault case: its answers in order (a function reads the conversation) and what the run must end with. */
interface FaultCase {
  name: string;
  script: (FakeChatResponse | ((view: ConversationView) => FakeChatResponse))[];
  /** Outcome statuses the result must list, in order. */
  outcomes: string[];
  /** The final answer; for the cases that echo what the model was told, each tool error in order. */
  answer: RegExp;
  /** The gated refund it proposes is approved by the test (once it is pending). */
  approves?: boolean;
}

/** Answers with the tool errors the run sent back, so the result shows what the model was told. */
const echoErrors = (view: ConversationView): FakeChatResponse => {
  const told = view.toolResults.map((r) => {
    const parsed = parseToolResultText(r.content);
    return parsed !== undefined && 'message' in parsed ? `${parsed.status}: ${parsed.message}` : `unreadable`;
  });
  return final(`told: ${told.join(' | ')}`);
};

const CASES: FaultCase[] = [
  {
    name: '429 storm (retry-after-ms)',
    script: [
      ...Array.from({ length: 8 }, () => chatError(429, 'slow down', { headers: { 'retry-after-ms': '150' } })),
      final('done after the storm'),
    ],
    outcomes: [],
    answer: /^done after the storm$/,
  },
  {
    name: '429 with retry-after seconds, then 500s',
    script: [
      chatError(429, 'slow down', { headers: { 'retry-after': '1' } }),
      chatError(500, 'boom'),
      chatError(502, 'bad gateway'),
      chatError(503, 'overloaded'),
      final('done after the errors'),
    ],
    outcomes: [],
    answer: /^done after the errors$/,
  },
  {
    name: 'answers slower than the client timeout',
    script: [
      { ...final('too late'), delayMs: CLIENT_TIMEOUT_MS * 2 },
      { ...final('too late again'), delayMs: CLIENT_TIMEOUT_MS * 2 },
      final('done in time'),
    ],
    outcomes: [],
    answer: /^done in time$/,
  },
  {
    name: 'bodies that are not completions',
    script: [
      { status: 200, body: { choices: 'none' } },
      { status: 200, body: 'not json at all' },
      { status: 200, body: { choices: [] } },
      final('done after garbage'),
    ],
    outcomes: [],
    answer: /^done after garbage$/,
  },
  {
    name: 'malformed tool-call JSON',
    script: [
      proposing(
        { id: 'c1', name: 'issue_refund', arguments: '{"invoiceId": 3, "amountCents": 7, "reason": "dup' },
        { id: 'c2', name: 'issue_refund', arguments: '' },
        { id: 'c3', name: 'issue_refund', arguments: '[1, 2, 3]' },
      ),
      echoErrors,
    ],
    outcomes: ['invalid', 'invalid', 'invalid'],
    answer:
      /^told: error: arguments are not valid JSON: \{"invoiceId.* \| error: arguments are not valid JSON: {2}\| error: invalid arguments for issue_refund: .*expected object/,
  },
  {
    name: 'tools that do not exist, named like decisions',
    script: [
      proposing(
        { id: 'c1', name: 'approve_request', arguments: { requestId: 'any', decision: 'approve', approver: 'sam' } },
        { id: 'c2', name: 'decide', arguments: { decision: 'approve' } },
        { id: 'c3', name: 'Issue_Refund', arguments: refund },
      ),
      echoErrors,
    ],
    outcomes: ['invalid', 'invalid', 'invalid'],
    answer:
      /^told: error: unknown tool "approve_request"; available: .* \| error: unknown tool "decide"; .* \| error: unknown tool "Issue_Refund"; /,
  },
  {
    name: 'arguments of the wrong shape, and decision fields smuggled into real arguments',
    script: [
      proposing(
        { id: 'c1', name: 'issue_refund', arguments: { ...refund, amountCents: '7' } },
        { id: 'c2', name: 'issue_refund', arguments: { ...refund, amountCents: 7.5 } },
        { id: 'c3', name: 'issue_refund', arguments: { ...refund, approved: true, approver: 'sam' } },
      ),
      echoErrors,
    ],
    outcomes: ['invalid', 'invalid', 'invalid'],
    answer:
      /^told: error: invalid arguments for issue_refund: amountCents: .* \| error: invalid arguments for issue_refund: amountCents: .* \| error: invalid arguments for issue_refund: .*approved.*approver/,
  },
  {
    name: 'every fault in one run around a valid refund, which runs once after its approval',
    script: [
      chatError(429, 'slow down', { headers: { 'retry-after-ms': '100' } }),
      { ...final('too late'), delayMs: CLIENT_TIMEOUT_MS * 2 },
      proposing({ id: 'c1', name: 'issue_refund', arguments: refund }),
      chatError(500, 'boom'),
      { status: 200, body: { nonsense: true } },
      final('refunded once'),
    ],
    outcomes: ['executed'],
    answer: /^refunded once$/,
    approves: true,
  },
];

describe('chaos: model endpoint faults', () => {
  it('retries what is transient, tells the model what is wrong, and never runs an unvalidated call', async (t) => {
    const started = Date.now();
    const served = new Map<string, number>();
    const responder = await startChatResponder((req) => {
      const view = viewConversation(req.body);
      const index = Number(/^fault case (\d+):/.exec(view.goal)?.[1]);
      const fault = CASES[index];
      if (fault === undefined) throw new Error(`no fault case for goal "${view.goal}"`);
      const n = served.get(fault.name) ?? 0;
      served.set(fault.name, n + 1);
      const next = fault.script[n];
      if (next === undefined) throw new Error(`${fault.name}: no answer left for request ${n + 1}`);
      return typeof next === 'function' ? next(view) : next;
    });
    try {
      await withWorker(
        async (h) => {
          const runs = await Promise.all(
            CASES.map(async (fault, i) => {
              const { workflowId } = await startAgentRun(
                h.client,
                {
                  goal: `fault case ${i}: ${fault.name}`,
                  requestedBy: 'tester',
                  model: { provider: 'openai', model: 'fault-model' },
                  policy: h.usePolicy(examplePolicy),
                },
                { taskQueue: h.taskQueue, key: testKey('tester') },
              );
              if (fault.approves === true) {
                const [req] = await waitFor(async () => {
                  const p = await pendingApprovals(h.client, workflowId);
                  return p.length === 1 ? p : undefined;
                }, `the refund of ${fault.name}`);
                await approveAs(h.client, workflowId, req!, 'sam');
              }
              return { fault, workflowId, result: await runResult(h.client, workflowId) };
            }),
          );
          const lines: string[] = [];
          for (const { fault, workflowId, result } of runs) {
            const requests = served.get(fault.name) ?? 0;
            lines.push(
              `${fault.name}: ${requests} requests, outcomes [${result.outcomes.map((o) => o.status).join(', ')}]`,
            );
            assert.equal(requests, fault.script.length, `${fault.name}: every scripted answer was asked for`);
            assert.deepEqual(
              result.outcomes.map((o) => o.status),
              fault.outcomes,
              `${fault.name}: outcomes`,
            );
            assert.match(result.answer, fault.answer, `${fault.name}: answer`);
            const trail = await auditTrail(h.client, workflowId);
            const requested = trail.filter((e) => e.kind === 'approval_requested').length;
            assert.equal(requested, fault.approves === true ? 1 : 0, `${fault.name}: approval requests`);
            const executed = trail.filter((e) => e.kind === 'tool_executed').length;
            assert.equal(executed, fault.approves === true ? 1 : 0, `${fault.name}: tools executed`);
          }
          const refunds = rowsPerKey(h.db, 'hitl_refund');
          const approved = runs.filter((r) => r.fault.approves === true).map((r) => r.workflowId);
          assert.deepEqual(
            [...refunds.entries()].map(([key, n]) => [key.slice(0, key.indexOf(':')), n]),
            approved.map((id) => [id, 1]),
            'the one approved refund ran once, nothing else ran',
          );
          assert.deepEqual(responder.responderErrors, []);
          report(t, [...lines, `took ${Math.round((Date.now() - started) / 1000)} s`]);
        },
        {
          policy: { policy: examplePolicy, source: 'test' },
          model: { openai: { apiKey: 'fault-key', baseURL: responder.baseURL, timeoutMs: CLIENT_TIMEOUT_MS } },
        },
      );
    } finally {
      await responder.close();
    }
  });
});
