import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { runResult, runStatus, signalDecision, withStoredResults } from '../client';
import { InFlight } from '../workflows/run/in-flight';
import { mayContinueMidTurn, TurnInProgress, type MidTurnState } from '../workflows/run/mid-turn';
import { approveAs } from './support/decisions';
import { waitFor } from './support/env';
import { answer, call, sharedTranscriptsPath, withWorker, type Harness } from './support/harness';
import { examplePolicy } from './support/policies';
import { runHistories } from './support/run-history';

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;
const { EventType } = proto.temporal.api.enums.v1;

/** The AgentStatus values a segment's history writes, in order. */
function statusWrites(events: HistoryEvent[]): string[] {
  return events.flatMap((e) => {
    const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.['AgentStatus'];
    return field?.data != null ? [JSON.parse(Buffer.from(field.data).toString('utf8')) as string] : [];
  });
}

/** Sends refused signals until the run has continued as new (each handled signal adds four history events). */
async function pushUntilContinued(client: Client, workflowId: string): Promise<void> {
  await waitFor(
    async () => {
      await signalDecision(client, workflowId, { garbage: true });
      return (await runStatus(client, workflowId)).earlierRuns.length > 0 ? true : undefined;
    },
    'the run to continue as new',
    60_000,
  );
}

/** Makes customer 1's company name about `bytes` long, so `find_customers` returns a large result. */
function hugeCompany(h: Harness, bytes: number): void {
  h.db.prepare('UPDATE Customer SET Company = ? WHERE CustomerId = 1').run(`Bulk Holdings ${'x'.repeat(bytes)}`);
}

describe('continuing as new in the middle of a turn', () => {
  const idle = new InFlight();
  const state = (over: Partial<MidTurnState> = {}): MidTurnState => ({
    inFlight: idle,
    paused: () => false,
    requestQuiet: () => true,
    continueDue: () => true,
    ...over,
  });
  const waitingTurn = (): TurnInProgress => {
    const turn = new TurnInProgress(
      [
        { id: 'a', name: 'get_invoice', arguments: '{}' },
        { id: 'b', name: 'issue_refund', arguments: '{}' },
      ],
      null,
    );
    turn.settled.set('a', { status: 'ok', result: 1 });
    turn.waiting.set('b', 'request-b');
    return turn;
  };

  it('may continue when every call has settled or waits on a quiet request, nothing runs and nothing is paused', () => {
    assert.equal(mayContinueMidTurn(waitingTurn(), state()), true);
  });

  it('may not continue while an activity is in flight, a pause is open, a timer is due, or nothing is due', () => {
    const busy = new InFlight();
    void busy.track(new Promise(() => undefined));
    assert.equal(mayContinueMidTurn(waitingTurn(), state({ inFlight: busy })), false, 'activity in flight');
    assert.equal(mayContinueMidTurn(waitingTurn(), state({ paused: () => true })), false, 'pause open');
    assert.equal(mayContinueMidTurn(waitingTurn(), state({ requestQuiet: () => false })), false, 'timer due or closed');
    assert.equal(mayContinueMidTurn(waitingTurn(), state({ continueDue: () => false })), false, 'history short');
  });

  it('may not continue while a call of the turn is neither settled nor waiting (it is about to run)', () => {
    const turn = waitingTurn();
    turn.waiting.delete('b');
    assert.equal(mayContinueMidTurn(turn, state()), false);
  });
});

describe('the run status search attribute', () => {
  it('is written only when it changes: a run started as Running writes Completed once', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted([call('get_invoice', { invoiceId: 1 }), answer('read')]);
      await run.result();
      const [events] = await runHistories(h.client, run.workflowId);
      assert.deepEqual(statusWrites(events ?? []), ['Completed']);
    });
  });

  it('starts a continued segment from the value it inherits: no rewrite before anything changes', async () => {
    await withWorker(async (h) => {
      const run = await h.startScripted(
        [call('issue_refund', { invoiceId: 1, amountCents: 100, reason: 'duplicate' }), answer('done')],
        { policy: examplePolicy, continueAsNewAfterEvents: 50 },
      );
      const [request] = await h.pending(run.workflowId);
      await pushUntilContinued(h.client, run.workflowId);
      await approveAs(h.client, run.workflowId, request!, 'sam');
      await run.result();
      const [first, ...later] = await runHistories(h.client, run.workflowId);
      assert.deepEqual(statusWrites(first ?? []), ['AwaitingApproval'], 'the first segment');
      // The run may continue once more after the approval (its history is past 50 events again): a later segment
      // inherits Running and writes only Completed.
      assert.deepEqual(later.flatMap(statusWrites), ['Running', 'Completed'], 'the continued segments');
    });
  });
});

describe('large tool results', () => {
  it('are stored before a continue-as-new, so the carried state holds references, and hitl result reads them back', async () => {
    await withWorker(async (h) => {
      hugeCompany(h, 400_000);
      const run = await h.startScripted(
        [
          {
            content: 'look up, then refund',
            toolCalls: [
              { name: 'find_customers', arguments: { query: 'Bulk Holdings' } },
              { name: 'issue_refund', arguments: { invoiceId: 1, amountCents: 100, reason: 'duplicate' } },
            ],
          },
          answer('done'),
        ],
        { policy: examplePolicy, continueAsNewAfterEvents: 50 },
      );
      const [request] = await h.pending(run.workflowId);
      await pushUntilContinued(h.client, run.workflowId);
      await approveAs(h.client, run.workflowId, request!, 'sam');
      const result = await runResult(h.client, run.workflowId);

      const [first] = await runHistories(h.client, run.workflowId);
      const stored = (first ?? []).filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'storeMessages',
      );
      assert.equal(stored.length, 1, 'the settled result was stored before the run continued');
      const continued = (first ?? []).find(
        (e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
      );
      const carriedBytes = (continued?.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads ?? []).reduce(
        (n, p) => n + (p.data?.length ?? 0),
        0,
      );
      assert.ok(carriedBytes > 0 && carriedBytes < 64 * 1024, `carried ${carriedBytes} bytes`);

      const lookup = result.outcomes.find((o) => o.tool === 'find_customers');
      assert.equal(lookup?.status, 'executed');
      assert.equal(lookup.result, undefined, 'the outcome keeps a reference, not the result');
      assert.ok((lookup.resultRef?.bytes ?? 0) > 400_000, `reference: ${JSON.stringify(lookup.resultRef)}`);
      assert.equal(result.outcomes.find((o) => o.tool === 'issue_refund')?.status, 'executed');

      const { result: full, unresolved } = withStoredResults(result, sharedTranscriptsPath());
      assert.equal(unresolved, 0);
      const customers = (full.outcomes.find((o) => o.tool === 'find_customers')?.result as { customers: unknown[] })
        .customers as { company: string }[];
      assert.ok(customers[0]!.company.length > 400_000, 'the whole result, read back from the transcript store');
    });
  });

  it('keep their reference when the transcript store does not have them', async () => {
    await withWorker(async (h) => {
      hugeCompany(h, 10_000);
      const run = await h.startScripted([call('find_customers', { query: 'Bulk Holdings' }), answer('found')]);
      const result = await runResult(h.client, run.workflowId);
      assert.ok((result.outcomes[0]?.resultRef?.bytes ?? 0) > 10_000);
      const { unresolved } = withStoredResults(result, ':memory:');
      assert.equal(unresolved, 1);
    });
  });
});
