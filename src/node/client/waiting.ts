// Node-only: what waits for people, listed from Temporal's visibility and filled in from the runs when a worker answers.
import {
  isGrpcServiceError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
} from '@temporalio/client';
import { InputError, TemporalUnreachable } from '../../shared/errors';
import proto from '@temporalio/proto';
import { normalizeName } from '../../shared/identity/names';
import {
  AGENT_RUN_WORKFLOW,
  AgentDeadlineKey,
  AgentDecidersKey,
  AgentDecidingGroupsKey,
  AgentPendingToolsKey,
  AgentRequesterKey,
  AgentRiskTierKey,
  AgentStatusKey,
  pendingApprovalsQuery,
  statusQuery,
} from '../../shared/messages';
import type { ApprovalRequest, RunPause } from '../../shared/run-state';

const { TaskQueueType } = proto.temporal.api.enums.v1;

/** How long a run's worker has to answer a query before the run is listed from visibility alone (ms). */
export const DETAIL_QUERY_TIMEOUT_MS = 5_000;

/** One run that waits for people, as visibility states it, with its details when its worker answered. */
export interface WaitingRun {
  workflowId: string;
  taskQueue: string;
  /** `AgentStatus`: waiting for decisions, or paused for an answer. */
  status: 'AwaitingApproval' | 'Paused';
  requestedBy?: string;
  /** From the run's search attributes (absent on runs from before 2026-12-02). */
  tools: string[];
  /** Who may decide or answer now (`*`: anyone). */
  deciders: string[];
  groups: string[];
  risk?: string;
  /** ISO-8601 earliest deadline. */
  deadline?: string;
  /** The open requests, when the run's worker answered. */
  requests?: ApprovalRequest[];
  /** The open pause, when the run's worker answered. */
  pause?: RunPause;
  /** Why the details could not be read (then `requests` and `pause` are absent). */
  unreadable?: string;
}

/**
 * Lists every run waiting for people from Temporal's visibility (`AgentStatus` is `AwaitingApproval` or `Paused`),
 * which answers with no worker up, then asks each run's worker for the details. A run whose task queue has no poller,
 * or whose worker does not answer within `queryTimeoutMs`, is listed with what its search attributes say and the
 * reason. Visibility lags by up to a second on the dev server.
 * @param client - a connected client
 * @param options - `queryTimeoutMs` (default {@link DETAIL_QUERY_TIMEOUT_MS})
 * @returns runs, earliest deadline first
 * @throws the client's error when visibility cannot be listed (the server is unreachable)
 * @example const runs = await listWaitingRuns(client);
 */
export async function listWaitingRuns(
  client: Client,
  options: { queryTimeoutMs?: number } = {},
): Promise<WaitingRun[]> {
  const timeout = options.queryTimeoutMs ?? DETAIL_QUERY_TIMEOUT_MS;
  const query =
    `WorkflowType = '${AGENT_RUN_WORKFLOW}' AND ExecutionStatus = 'Running' ` +
    `AND AgentStatus IN ('AwaitingApproval', 'Paused')`;
  const listed: WaitingRun[] = [];
  for await (const info of client.workflow.list({ query })) listed.push(fromVisibility(info));
  const pollers = new Map<string, Promise<string | undefined>>();
  const absentWorker = (taskQueue: string) => {
    let known = pollers.get(taskQueue);
    if (known === undefined) {
      known = noPollerReason(client, taskQueue);
      pollers.set(taskQueue, known);
    }
    return known;
  };
  await forEachLimited(listed, 8, async (run) => {
    const absent = await absentWorker(run.taskQueue);
    if (absent !== undefined) {
      run.unreadable = absent;
      return;
    }
    try {
      const handle = client.workflow.getHandle(run.workflowId);
      const [requests, status] = await client.connection.withDeadline(Date.now() + timeout, () =>
        settleAll([handle.query(pendingApprovalsQuery), handle.query(statusQuery)] as const),
      );
      run.requests = requests;
      if (status.pause !== undefined) run.pause = status.pause;
    } catch (err) {
      run.unreadable = queryFailure(err, run.taskQueue, timeout);
    }
  });
  return listed.sort((a, b) => (a.deadline ?? '~').localeCompare(b.deadline ?? '~'));
}

/**
 * Whether `name` may act on a waiting run now, as far as what was read says: a request ({@link mayDecide}) or the
 * pause ({@link mayAnswer}) that is theirs. With no details, the run's `AgentDeciders` search attribute decides.
 */
export function waitsOn(run: WaitingRun, name: string): boolean {
  const who = normalizeName(name);
  if (run.requests === undefined && run.pause === undefined) {
    return run.deciders.includes(who) || run.deciders.includes('*');
  }
  const mine = forPerson(run, who);
  return mine.requests.length > 0 || mine.pause !== undefined;
}

/** The requests and pause of a run that `name` may decide or answer now. */
export function forPerson(run: WaitingRun, name: string): { requests: ApprovalRequest[]; pause?: RunPause } {
  const requests = (run.requests ?? []).filter((r) => mayDecide(r, name).ok);
  const p = run.pause;
  const pause = p !== undefined && mayAnswer(p, name, run.requestedBy).ok ? p : undefined;
  return { requests, ...(pause !== undefined ? { pause } : {}) };
}

/**
 * Whether `reviewer` may decide `request` now, as the run will judge it: in the current stage's groups (or anyone),
 * not the requester under separation of duties, not an approver already. The run checks again; this only sorts.
 * @param request - a pending request
 * @param reviewer - the person (any spelling; it is normalised)
 * @returns `{ ok: true }` or the reason in words
 */
export function mayDecide(request: ApprovalRequest, reviewer: string): { ok: true } | { ok: false; reason: string } {
  const me = normalizeName(reviewer);
  if (request.separationOfDuties && normalizeName(request.requestedBy) === me) {
    return { ok: false, reason: 'you requested this run, and the policy separates duties' };
  }
  if (request.approvals.some((a) => normalizeName(a.approver) === me)) {
    return { ok: false, reason: `you approved it already; it waits for ${request.quorum} approvals` };
  }
  const eligible = request.eligibleApprovers.map(normalizeName);
  if (eligible.length > 0 && !eligible.includes(me)) {
    const groups = request.stages[request.stage]?.groups ?? [];
    return { ok: false, reason: `it waits on ${groups.length > 0 ? groups.join(', ') : eligible.join(', ')}` };
  }
  return { ok: true };
}

/**
 * Whether `reviewer` may answer `pause` now (eligible, and not the requester under separation of duties).
 * @param pause - an open pause
 * @param reviewer - the person
 * @param requestedBy - who started the run, when known
 * @returns `{ ok: true }` or the reason in words
 */
export function mayAnswer(
  pause: RunPause,
  reviewer: string,
  requestedBy?: string,
): { ok: true } | { ok: false; reason: string } {
  const me = normalizeName(reviewer);
  if (pause.separationOfDuties && requestedBy !== undefined && normalizeName(requestedBy) === me) {
    return { ok: false, reason: 'you requested this run, and the policy separates duties' };
  }
  const eligible = pause.eligible.map(normalizeName);
  if (eligible.length > 0 && !eligible.includes(me)) return { ok: false, reason: `it waits on ${eligible.join(', ')}` };
  return { ok: true };
}

function fromVisibility(info: WorkflowExecutionInfo): WaitingRun {
  const sa = info.typedSearchAttributes;
  const status = sa.get(AgentStatusKey) === 'Paused' ? 'Paused' : 'AwaitingApproval';
  const deadline = sa.get(AgentDeadlineKey);
  const requestedBy = sa.get(AgentRequesterKey);
  const risk = sa.get(AgentRiskTierKey);
  return {
    workflowId: info.workflowId,
    taskQueue: info.taskQueue,
    status,
    tools: sa.get(AgentPendingToolsKey) ?? [],
    deciders: sa.get(AgentDecidersKey) ?? [],
    groups: sa.get(AgentDecidingGroupsKey) ?? [],
    ...(requestedBy !== undefined ? { requestedBy } : {}),
    ...(risk !== undefined ? { risk } : {}),
    ...(deadline !== undefined ? { deadline: deadline.toISOString() } : {}),
  };
}

/**
 * Like `Promise.all`, but waits until every call has settled before it rejects with the first failure. A client call
 * the SDK is still retrying when its sibling fails would otherwise fire its next attempt on a connection the CLI has
 * closed by then, and grpc-js throws that from a timer ("Channel has been shut down"), killing the process after its
 * output was written (seen against Temporal on PostgreSQL with runs whose worker was gone).
 * @param calls - the calls, started
 * @returns their results, in order
 * @throws the first failure, once all have settled
 */
export async function settleAll<T extends readonly unknown[]>(calls: {
  readonly [K in keyof T]: Promise<T[K]>;
}): Promise<T> {
  const settled = await Promise.allSettled(calls);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * Why no worker can answer for a task queue, or undefined when one polled it in the last 90 s (the server lists a
 * poller for a while after it stopped: a worker killed just now still counts, and its query times out instead).
 */
async function noPollerReason(client: Client, taskQueue: string): Promise<string | undefined> {
  try {
    const { pollers } = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    const recent = (pollers ?? []).some((p) => {
      const seconds = Number(p.lastAccessTime?.seconds ?? 0);
      return Date.now() / 1000 - seconds < 90;
    });
    return recent ? undefined : `no worker is polling task queue ${taskQueue} (start one: npm run worker)`;
  } catch {
    // Describing the queue is only a shortcut; the query says what is wrong.
    return undefined;
  }
}

/** The gRPC status code of an error or of its cause (the client wraps query failures), if it has one. */
export function grpcCode(err: unknown): number | undefined {
  if (isGrpcServiceError(err)) return err.code;
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'number' ? cause.code : undefined;
}

/**
 * Whether a query ended for lack of an answer: the server's deadline (DEADLINE_EXCEEDED: "query timed out before a
 * worker could process it") or ours (grpc-js cancels the call: CANCELLED).
 */
function timedOut(err: unknown): boolean {
  const code = grpcCode(err);
  return code === 4 || code === 1;
}

/** A failed detail query in words. */
export function queryFailure(err: unknown, taskQueue: string, timeoutMs: number): string {
  if (grpcCode(err) === 9) {
    return `no worker is polling task queue ${taskQueue} (the server saw none recently; start one: npm run worker)`;
  }
  if (timedOut(err)) {
    return `no worker answered within ${timeoutMs / 1000} s on task queue ${taskQueue} (is one running?)`;
  }
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return `the query failed: ${err instanceof Error ? err.message : String(err)}${cause}`;
}

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}

/**
 * Queries a run, failing fast when no worker can answer: the run's task queue is checked for a poller first, and the
 * query gets `timeoutMs`. Without this a query to a run with no worker waits for the server's own deadline (about 30
 * s) and says only "Failed to query Workflow".
 * @param client - a connected client
 * @param workflowId - the run
 * @param query - the queries to make, on the run's handle
 * @param timeoutMs - how long the worker has to answer (default {@link DETAIL_QUERY_TIMEOUT_MS})
 * @throws TemporalUnreachable naming the task queue and why no worker answered
 * @throws InputError when there is no such run
 */
export async function queryRun<T>(
  client: Client,
  workflowId: string,
  query: (handle: WorkflowHandle) => Promise<T>,
  timeoutMs: number = DETAIL_QUERY_TIMEOUT_MS,
): Promise<T> {
  const handle = client.workflow.getHandle(workflowId);
  let taskQueue: string;
  try {
    taskQueue = (await handle.describe()).taskQueue;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new InputError(`no run ${workflowId} in namespace ${client.options.namespace}`, { cause: err });
    }
    throw err;
  }
  const where = `namespace ${client.options.namespace}`;
  const absent = await noPollerReason(client, taskQueue);
  if (absent !== undefined) throw new TemporalUnreachable(`cannot read run ${workflowId}: ${absent} (${where})`);
  try {
    return await client.connection.withDeadline(Date.now() + timeoutMs, () => query(handle));
  } catch (err) {
    // A query the server could not get answered (no worker in time, or one that went away meanwhile) carries a gRPC
    // status; a query that a worker refused (QueryRejectedError, QueryNotRegisteredError) does not.
    if (grpcCode(err) === undefined) throw err;
    throw new TemporalUnreachable(
      `cannot read run ${workflowId}: ${queryFailure(err, taskQueue, timeoutMs)} (${where})`,
      {
        cause: err,
      },
    );
  }
}
