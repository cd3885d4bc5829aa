import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { runStatus } from '../../client';
import { auditTrailQuery } from '../../src/shared/messages';
import type { AuditEntry } from '../../src/shared/run-state';

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;
type TaskFailed = proto.temporal.api.history.v1.IWorkflowTaskFailedEventAttributes;

/**
 * The history events of every segment of a run (it may have continued as new), oldest segment first. The run's
 * `status` query names the earlier segments, so a worker must be polling its task queue.
 * @param client - a connected client
 * @param workflowId - the run
 */
export async function runHistories(client: Client, workflowId: string): Promise<HistoryEvent[][]> {
  const { earlierRuns } = await runStatus(client, workflowId);
  const handles = [
    ...earlierRuns.map((runId) => client.workflow.getHandle(workflowId, runId)),
    client.workflow.getHandle(workflowId),
  ];
  const histories = await Promise.all(handles.map((h) => h.fetchHistory()));
  return histories.map((h) => h.events ?? []);
}

const UNHANDLED_COMMAND =
  proto.temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND;

/**
 * Workflow task failures in a run's history, all segments, as `cause: message`. Left out: the server's own
 * `UnhandledCommand` refusal, recorded when a signal or update arrives while the worker completes or continues the
 * run; the worker then simply runs the task again with the new event. Anything else (nondeterminism, a throw in the
 * workflow code) is a real failure.
 * @param client - a connected client
 * @param workflowId - the run
 */
export async function workflowTaskFailures(client: Client, workflowId: string): Promise<string[]> {
  const events = (await runHistories(client, workflowId)).flat();
  return events
    .map((e) => e.workflowTaskFailedEventAttributes)
    .filter((a): a is TaskFailed => a != null)
    .filter((a) => a.cause !== UNHANDLED_COMMAND)
    .map((a) => `${String(a.cause)}: ${a.failure?.message ?? ''}`);
}

/**
 * The audit trail of every segment of a run, oldest first, read segment by segment (the run's `auditTrail` query on
 * each Temporal run). Unlike the client's `auditTrail` helper it does not guess from sequence numbers whether earlier
 * segments exist, so it also holds right after a continue-as-new, while the newest segment has no entry yet. Reads
 * again if the run continues as new meanwhile.
 * @param client - a connected client
 * @param workflowId - the run
 */
export async function wholeAuditTrail(client: Client, workflowId: string): Promise<AuditEntry[]> {
  for (;;) {
    const before = await runStatus(client, workflowId);
    const runIds = [...before.earlierRuns, undefined];
    const trails = await Promise.all(
      runIds.map((runId) => client.workflow.getHandle(workflowId, runId).query(auditTrailQuery)),
    );
    const after = await runStatus(client, workflowId);
    if (after.earlierRuns.length === before.earlierRuns.length) return trails.flat();
  }
}

/**
 * The length of a Temporal run's history once it is still: no workflow task and no activity pending, so no event is
 * on its way unless someone sends one; undefined while something is. A run that writes the audit store schedules an
 * activity after each audit entry, so a test aiming at a history length waits for this before it counts.
 * @param client - a connected client
 * @param workflowId - the workflow
 * @param runId - the Temporal run (default: the newest)
 */
export async function stillHistoryLength(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<number | undefined> {
  const d = await client.workflow.getHandle(workflowId, runId).describe();
  const busy = d.raw.pendingWorkflowTask != null || (d.raw.pendingActivities?.length ?? 0) > 0;
  return busy || d.status.name !== 'RUNNING' ? undefined : Number(d.historyLength);
}

/**
 * The fields of an audit entry that the run's own trail and the audit store share (the store adds the chain and the
 * run ids), to compare one with the other.
 */
export function entryOf(r: AuditEntry): AuditEntry {
  const { seq, at, kind, actor, requestId, tool, argsHash, detail, facts } = r;
  return {
    ...(facts !== undefined ? { facts } : {}),
    seq,
    at,
    kind,
    actor,
    detail,
    ...(requestId !== undefined ? { requestId } : {}),
    ...(tool !== undefined ? { tool } : {}),
    ...(argsHash !== undefined ? { argsHash } : {}),
  };
}
