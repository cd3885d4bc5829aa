import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nanoid } from 'nanoid';
import { generateBillingDb, openBillingDb } from '../../activities/billing/index';
import { decide, UpdateRefusedError, pendingApprovals, signalDecision, startAgentRun } from '../../client';
import { parseToolResultText } from '../../src/shared/model/tool-result';
import { startChatResponder, viewConversation } from '../support/chat-responder';
import { signedOn } from '../support/decisions';
import { sharedEnv, tempDir, waitFor } from '../support/env';
import { chatCompletion, type FakeChatResponse, type RecordedChatRequest } from '../support/fake-chat-server';
import { WorkerProcess, writeSharedBundle } from '../support/worker-process';
import {
  distinct,
  judge,
  POINTS,
  recentRows,
  sum,
  type ChaosRun,
  type KillPoint,
  type KillRecord,
} from './kill-verdict';
import { testKey } from '../support/keys';
import { policyVariant, writePolicyDir } from '../support/policies';
import { chaosKills, report, withDeadline } from './support';

// Runs are started continuously against a worker in a child process; the test SIGKILLs that worker at chosen
// points and starts a new one each time. A run here: the model (a wire-format server scripted per run) asks for
// update_customer_contact (gate auto), then issue_refund (hard: support decides), then answers. The test approves
// four runs in five and rejects the fifth, by update or by signal, as support (sam, sue).

/** How long a held model answer and a held tool (after its commit) wait: the crash window. */
const HOLD_MS = 4_000;
/** Kill only while at least this much of a hold is left, so the kill lands inside it. */
const HOLD_MARGIN_MS = 1_200;
/** How long a known pending request waits before the test decides it (unless the next kill wants it pending). */
const DECISION_DWELL_MS = 1_500;
/** Runs that have not ended, at most; runs whose activities were lost in a kill wait out their timeouts (1-2 min). */
const MAX_UNFINISHED = 60;

const policy = policyVariant('chaos-kills', { update_customer_contact: { gate: 'auto' } });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('chaos: worker SIGKILLs with runs in flight', () => {
  it('loses no run, duplicates no effect and ends every run in the state its decisions call for', async (t) => {
    const started = Date.now();
    const kills = chaosKills();
    const { env, address } = await sharedEnv();
    const client = env.client;
    const dbPath = join(tempDir('hitl-chaos-'), 'billing.sqlite');
    generateBillingDb(dbPath, { customers: 60, invoices: 400 });
    const db = openBillingDb(dbPath);
    const taskQueue = `chaos-kills-${nanoid(6)}`;
    const runs: ChaosRun[] = [];
    const byTag = new Map<string, ChaosRun>();
    const heldOnce = new Set<string>();
    let holdModelCalls = false;
    const responder = await startChatResponder((req) => respond(req));
    const worker = new WorkerProcess({
      address,
      taskQueue,
      billingDbPath: dbPath,
      bundlePath: await writeSharedBundle(),
      env: {
        OPENAI_BASE_URL: responder.baseURL,
        OPENAI_API_KEY: 'chaos',
        HITL_FAULT_HOLD_AFTER_COMMIT: `issue_refund=${HOLD_MS},update_customer_contact=${HOLD_MS}`,
        HITL_POLICY: writePolicyDir([policy]),
      },
    });

    function respond(req: RecordedChatRequest): FakeChatResponse {
      const view = viewConversation(req.body);
      const tag = /^chaos run (r\d+):/.exec(view.goal)?.[1];
      const run = tag !== undefined ? byTag.get(tag) : undefined;
      if (run === undefined) throw new Error(`no chaos run for goal "${view.goal.slice(0, 80)}"`);
      const key = `${run.tag}:${view.turn}`;
      const hold = holdModelCalls && !heldOnce.has(key);
      if (hold) heldOnce.add(key);
      const delay = hold ? { delayMs: HOLD_MS } : {};
      if (view.turn === 0) {
        const phone = `+1 555 ${String(run.n).padStart(4, '0')}`;
        return {
          ...chatCompletion({
            content: 'Updating the phone number first.',
            toolCalls: [
              { id: 'call_1', name: 'update_customer_contact', arguments: { customerId: run.customerId, phone } },
            ],
          }),
          ...delay,
        };
      }
      if (view.turn === 1) {
        run.proposed = true;
        const args = { invoiceId: run.invoiceId, amountCents: run.amountCents, reason: `chaos ${run.tag}` };
        return {
          ...chatCompletion({
            content: 'The customer was charged twice.',
            toolCalls: [{ id: 'call_2', name: 'issue_refund', arguments: args }],
          }),
          ...delay,
        };
      }
      if (view.turn === 2) {
        const status = parseToolResultText(view.toolResults[0]?.content ?? '')?.status ?? 'unreadable';
        return { ...chatCompletion({ content: status === 'ok' ? 'Refunded.' : `No refund: ${status}` }), ...delay };
      }
      throw new Error(`${run.tag}: unexpected model call ${view.turn + 1}`);
    }

    async function startRun(): Promise<void> {
      const n = runs.length;
      const run: ChaosRun = {
        n,
        tag: `r${n}`,
        workflowId: `${taskQueue}-r${n}`,
        customerId: (n % 60) + 1,
        invoiceId: (n % 400) + 1,
        amountCents: 1 + (n % 3),
        verdict: n % 5 === 3 ? 'reject' : 'approve',
        channel: n % 2 === 0 ? 'update' : 'signal',
        proposed: false,
        requestChanged: false,
        decision: 'none',
        resends: 0,
        decisionErrors: [],
      };
      // Known to the model before the run starts: the worker may ask before the start call returns.
      byTag.set(run.tag, run);
      const { handle } = await startAgentRun(
        client,
        {
          goal: `chaos run ${run.tag}: update the phone of customer ${run.customerId}, refund invoice ${run.invoiceId}`,
          requestedBy: 'tester',
          model: { provider: 'openai', model: 'chaos-model' },
          policy: policy.version,
        },
        { taskQueue, workflowId: run.workflowId, key: testKey('tester') },
      );
      runs.push(run);
      // Ends when the run ends, across continue-as-new; the judge reads the whole result with runResult.
      handle.result().then(
        () => (run.settled = {}),
        (err: unknown) =>
          (run.settled = { error: err instanceof Error ? `${err.message}: ${String(err.cause)}` : String(err) }),
      );
    }

    // Decisions: after a short dwell, each known pending request gets its run's verdict through its run's channel.
    const inFlight: Promise<void>[] = [];
    function sendDecision(run: ChaosRun): void {
      const req = run.request;
      if (req === undefined || run.decision !== 'none') return;
      if (run.decisionErrors.length > 0) run.resends += 1;
      run.decision = 'sending';
      const message =
        run.verdict === 'approve'
          ? signedOn(run.workflowId, req, 'sam')
          : signedOn(run.workflowId, req, 'sue', 'reject', { reason: 'chaos: not this one' });
      const sent =
        run.channel === 'update'
          ? decide(client, run.workflowId, message).then(() => undefined)
          : signalDecision(client, run.workflowId, message);
      inFlight.push(
        sent.then(
          () => {
            run.decision = 'sent';
          },
          (err: unknown) => {
            // A resent update whose first copy got through is refused as already closed: it was taken.
            if (err instanceof UpdateRefusedError && /already closed/.test(err.message)) run.decision = 'sent';
            else {
              run.decisionErrors.push(err instanceof Error ? err.message : String(err));
              run.decision = 'none';
            }
          },
        ),
      );
    }
    let target: KillPoint | undefined;
    let approverStopped = false;
    async function approver(): Promise<void> {
      while (!approverStopped) {
        const looking = runs.filter((r) => r.proposed && r.decision === 'none' && r.settled === undefined);
        await Promise.all(
          looking.map(async (run) => {
            const pending = await withDeadline(client, 3_000, () => pendingApprovals(client, run.workflowId)).catch(
              () => undefined,
            );
            const req = pending?.[0];
            if (req === undefined) return;
            if (run.request === undefined) {
              run.request = req;
              run.seenAt = Date.now();
            } else if (run.request.requestId !== req.requestId) run.requestChanged = true;
          }),
        );
        if (target !== 'awaiting_approval') {
          for (const run of runs) {
            if (run.seenAt !== undefined && Date.now() - run.seenAt >= DECISION_DWELL_MS) sendDecision(run);
          }
        }
        await sleep(300);
      }
    }

    // What is in flight right now on the current worker, per kill point.
    let readyAt = 0;
    const youngRows = (table: 'hitl_refund' | 'hitl_change_log'): string[] =>
      recentRows(db, table, Math.max(readyAt, Date.now() - (HOLD_MS - HOLD_MARGIN_MS)));
    const heldModelCalls = () =>
      responder.open().filter((o) => o.at >= readyAt && Date.now() - o.at < HOLD_MS - HOLD_MARGIN_MS).length;
    const pendingNow = () =>
      runs
        .filter((r) => r.request !== undefined && r.decision === 'none' && r.settled === undefined)
        .map((r) => ({ workflowId: r.workflowId, requestId: r.request!.requestId }));
    const observe = (point: KillPoint): boolean => {
      switch (point) {
        case 'model_call':
          return heldModelCalls() > 0;
        case 'auto_tool':
          return youngRows('hitl_change_log').length > 0;
        case 'refund_committed':
          return youngRows('hitl_refund').length > 0;
        case 'awaiting_approval':
          return pendingNow().length > 0;
      }
    };

    const killLog: KillRecord[] = [];
    await worker.start();
    readyAt = Date.now();
    const approving = approver();
    try {
      for (let i = 0; i < 4; i++) await startRun();
      for (let k = 0; k < kills; k++) {
        const point = POINTS[k % POINTS.length]!;
        target = point;
        holdModelCalls = point === 'model_call';
        // Feed a run whenever the point does not come up for a while; runs hit by earlier kills are waiting out
        // their activity timeouts.
        let fedAt = Date.now();
        await waitFor(
          async () => {
            if (observe(point)) return true;
            if (Date.now() - fedAt > 1_500 && runs.filter((r) => r.settled === undefined).length < MAX_UNFINISHED) {
              fedAt = Date.now();
              await startRun();
            }
            return undefined;
          },
          `kill point ${point} (kill ${k + 1})`,
          180_000,
        );
        const record: KillRecord = {
          point,
          heldModelCalls: heldModelCalls(),
          autoToolsAfterCommit: youngRows('hitl_change_log'),
          refundsAfterCommit: youngRows('hitl_refund'),
          pendingRequests: pendingNow(),
        };
        await worker.kill();
        killLog.push(record);
        // Decide what was waiting while no worker is up: the signal is stored, the update waits for the next worker.
        if (point === 'awaiting_approval') {
          for (const p of record.pendingRequests) sendDecision(runs.find((r) => r.workflowId === p.workflowId)!);
        }
        await worker.start();
        readyAt = Date.now();
      }
      target = undefined;
      holdModelCalls = false;
      // Every run must end; a run whose activity was lost in the last kills waits up to two minutes for its timeout.
      await waitFor(
        () => (runs.every((r) => r.settled !== undefined) ? true : undefined),
        'every run to end',
        8 * 60_000,
      ).catch(() => undefined);
      approverStopped = true;
      await approving;
      await Promise.all(inFlight);

      const verdict = await judge(client, db, runs, killLog, responder);
      const byPoint = POINTS.map((p) => `${p} ${killLog.filter((k) => k.point === p).length}`).join(', ');
      report(t, [
        `worker SIGKILLs: ${killLog.length} (${byPoint}); worker starts: ${worker.starts}, unexpected exits: ${worker.unexpectedExits}`,
        `in flight at the kills: ${sum(killLog, (k) => k.heldModelCalls)} held model calls, ` +
          `${sum(killLog, (k) => k.autoToolsAfterCommit.length)} auto tools after commit, ` +
          `${sum(killLog, (k) => k.refundsAfterCommit.length)} refunds after commit, ` +
          `${sum(killLog, (k) => k.pendingRequests.length)} pending requests`,
        `runs: ${runs.length} started, ${verdict.completed} completed ` +
          `(${runs.filter((r) => r.verdict === 'approve').length} to approve, ${runs.filter((r) => r.verdict === 'reject').length} to reject)`,
        `duplicate effects: ${verdict.duplicates}; lost runs: ${verdict.lost}; runs in a wrong state: ${verdict.wrong.length}`,
        `effects committed before a kill and replayed from the ledger after it: ${verdict.replayed} of ${verdict.committedBeforeKill}`,
        `model answers abandoned by killed workers: ${responder.abandoned()}; decisions resent after a client error: ` +
          `${sum(runs, (r) => r.resends)} (${distinct(runs.flatMap((r) => r.decisionErrors)).join(' / ') || 'none'})`,
        `took ${Math.round((Date.now() - started) / 1000)} s; worker log: ${worker.logPath}`,
        ...verdict.wrong.slice(0, 20).map((w) => `wrong: ${w}`),
        ...runs
          .filter((r) => r.settled === undefined)
          .slice(0, 20)
          .map((r) => `lost: ${r.workflowId} (decision ${r.decision}, request ${r.request?.requestId ?? 'not seen'})`),
      ]);
      assert.deepEqual(responder.responderErrors, [], 'the scripted model understood every request');
      assert.equal(verdict.duplicates, 0, 'duplicate effects');
      assert.equal(verdict.lost, 0, 'lost runs');
      assert.deepEqual(verdict.wrong, [], 'runs in a wrong state');
      assert.equal(
        verdict.replayed,
        verdict.committedBeforeKill,
        'every effect caught by a kill was replayed, not redone',
      );
      const modelKills = killLog.filter((k) => k.point === 'model_call').length;
      assert.ok(responder.abandoned() >= modelKills, 'every model-call kill cut off a model call in flight');
    } finally {
      approverStopped = true;
      await worker.stop();
      await responder.close();
      db.close();
    }
  });
});
