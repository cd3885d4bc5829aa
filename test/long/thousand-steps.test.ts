// `npm run test:long`: a 1,000-step scripted run, end to end on the shared dev server. Too slow for `npm test`
// (minutes on two cores); it proves that a long run stays within Temporal's history limits with bounded history per
// step, and that nothing is lost across its continue-as-new segments.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import proto from '@temporalio/proto';
import { runResult } from '../../client';
import { answer, call, withWorker } from '../support/harness';
import { closeSharedEnv } from '../support/env';

const STEPS = Number(process.env['HITL_LONG_STEPS'] ?? 1_000);
const { History } = proto.temporal.api.history.v1;

after(async () => {
  await closeSharedEnv();
});

describe('a 1,000-step run', () => {
  it('finishes with every step accounted for and history bytes per step flat across its segments', async () => {
    await withWorker(async (h) => {
      const turns = [
        ...Array.from({ length: STEPS }, (_, i) => call('get_invoice', { invoiceId: (i % 20) + 1 })),
        answer('done'),
      ];
      const run = await h.startScripted(turns, { maxSteps: STEPS + 1, continueAsNewAfterEvents: 2_000 });
      const result = await runResult(h.client, run.workflowId);
      assert.equal(result.answer, 'done');
      assert.equal(result.steps, STEPS + 1);
      assert.equal(result.counts.executed, STEPS);
      assert.equal(result.outcomes.length, STEPS);
      const runs = [...result.earlierRuns, undefined];
      const perStep: number[] = [];
      for (const runId of runs) {
        const history = await h.client.workflow.getHandle(run.workflowId, runId).fetchHistory();
        const events = history.events?.length ?? 0;
        const bytes = History.encode(history).finish().length;
        const steps = Math.max(1, Math.round(events / 12));
        perStep.push(bytes / steps);
        assert.ok(events <= 2_000 + 40, `a segment has ${events} events`);
      }
      process.stdout.write(
        `${STEPS} steps in ${runs.length} segments; history bytes per step by segment: ${perStep.map((b) => b.toFixed(0)).join(', ')}\n`,
      );
      // Flat: the last full segment costs about what the first does per step (the whole conversation no longer
      // travels with each model call; before the transcript store, step 1,000 carried a thousand messages).
      const full = perStep.slice(0, -1);
      if (full.length >= 2) {
        const [first, last] = [full[0]!, full[full.length - 1]!];
        assert.ok(last < first * 1.25, `bytes per step grew from ${first.toFixed(0)} to ${last.toFixed(0)}`);
      }
    });
  });
});
