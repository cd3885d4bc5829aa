import type { Client } from '@temporalio/client';
import { normalizeName } from '../../shared/identity/names';
import { AGENT_RUN_WORKFLOW } from '../../shared/messages';
import type { ApprovalRequest, AuditEntry, RunPause } from '../../shared/run-state';
import { auditTrail } from './runs';
import { listWaitingRuns, mayAnswer, mayDecide } from './waiting';

/** A pending request as one reviewer sees it: whether they may decide it now, and if not, why. */
export interface ReviewerRequest {
  request: ApprovalRequest;
  /** True when the reviewer may decide it now. */
  mayDecide: boolean;
  /** Why the reviewer may not decide it now (absent when they may). */
  whyNot?: string;
}

/** An open pause as one reviewer sees it. */
export interface ReviewerPause {
  workflowId: string;
  pause: RunPause;
  mayAnswer: boolean;
  whyNot?: string;
}

/** A decision the reviewer took, from a run's audit trail. */
export interface RecentDecision {
  workflowId: string;
  at: string;
  requestId?: string;
  tool?: string;
  decision?: string;
  /** The run's sentence for it (from the audit trail). */
  detail: string;
}

/** What one reviewer's inbox shows. */
export interface ReviewerInbox {
  reviewer: string;
  /** Requests the reviewer may decide now, earliest deadline first. */
  mine: ReviewerRequest[];
  /** Requests that wait on others (another group, a requester under separation of duties, an approval given). */
  others: ReviewerRequest[];
  pauses: ReviewerPause[];
  /** The reviewer's recent decisions, newest first. */
  recent: RecentDecision[];
}

export { mayAnswer, mayDecide } from './waiting';

/** How many runs' audit trails the inbox reads for recent decisions, at most. */
const RECENT_RUNS = 25;

/** How long one run may take to answer its audit trail query, in ms: a closed run with no worker never answers. */
const TRAIL_DEADLINE_MS = 5_000;

/** How long a run whose trail could not be read is not asked again, in ms. */
const RETRY_UNREAD_MS = 10_000;

/** Audit trails of closed runs never change: read once per process. */
const closedTrails = new Map<string, AuditEntry[]>();

/** Runs whose trail could not be read, and when. */
const unreadSince = new Map<string, number>();

/** One run's audit trail, from the cache when the run is closed; undefined when it cannot be read in time. */
async function trailOf(client: Client, workflowId: string, running: boolean): Promise<AuditEntry[] | undefined> {
  const cached = running ? undefined : closedTrails.get(workflowId);
  if (cached !== undefined) return cached;
  const failedAt = unreadSince.get(workflowId);
  if (failedAt !== undefined && Date.now() - failedAt < RETRY_UNREAD_MS) return undefined;
  try {
    const entries = await client.withDeadline(Date.now() + TRAIL_DEADLINE_MS, () => auditTrail(client, workflowId));
    unreadSince.delete(workflowId);
    if (!running) closedTrails.set(workflowId, entries);
    return entries;
  } catch {
    unreadSince.set(workflowId, Date.now());
    return undefined;
  }
}

/** Whether an audit entry is a decision taken by `me` (the verified signer, else the name the entry gives). */
function decidedBy(e: AuditEntry, me: string): boolean {
  return e.kind === 'decision' && (e.facts?.signer ?? normalizeName(e.actor.split(/[ ,]/)[0] ?? '')) === me;
}

/**
 * The decisions `reviewer` took in recent runs (the last {@link RECENT_RUNS} started in the last `windowMs`), from the
 * runs' audit trails, newest first. A run whose trail cannot be read within 5 s (a closed run and no worker to answer)
 * is skipped for 10 s and named in `unread`.
 * @param client - a connected client
 * @param reviewer - the person
 * @param options - `windowMs` (default 24 h), `limit` (default 20 decisions)
 * @returns the decisions and the runs it could not read
 * @example const { decisions } = await recentDecisions(client, 'sam');
 */
export async function recentDecisions(
  client: Client,
  reviewer: string,
  options: { windowMs?: number; limit?: number } = {},
): Promise<{ decisions: RecentDecision[]; unread: string[] }> {
  const me = normalizeName(reviewer);
  const since = new Date(Date.now() - (options.windowMs ?? 86_400_000)).toISOString();
  const query = `WorkflowType = '${AGENT_RUN_WORKFLOW}' AND StartTime > '${since}'`;
  const runs: { workflowId: string; running: boolean }[] = [];
  for await (const info of client.workflow.list({ query })) {
    runs.push({ workflowId: info.workflowId, running: info.status.name === 'RUNNING' });
    if (runs.length >= RECENT_RUNS) break;
  }
  const trails = await Promise.all(runs.map((r) => trailOf(client, r.workflowId, r.running)));
  const decisions: RecentDecision[] = [];
  const unread: string[] = [];
  runs.forEach(({ workflowId }, i) => {
    const entries = trails[i];
    if (entries === undefined) return void unread.push(workflowId);
    for (const e of entries.filter((x) => decidedBy(x, me))) {
      decisions.push({
        workflowId,
        at: e.at,
        detail: e.detail,
        ...(e.requestId !== undefined ? { requestId: e.requestId } : {}),
        ...(e.tool !== undefined ? { tool: e.tool } : {}),
        ...(e.facts?.decision !== undefined ? { decision: e.facts.decision } : {}),
      });
    }
  });
  decisions.sort((a, b) => b.at.localeCompare(a.at));
  return { decisions: decisions.slice(0, options.limit ?? 20), unread };
}

/** How long one run may take to answer the inbox's query, in ms (a run whose worker is down never answers). */
const QUERY_DEADLINE_MS = 3_000;

/**
 * The runs that wait for a person ({@link listWaitingRuns}), each queried within {@link QUERY_DEADLINE_MS}: a run that
 * does not answer in time is named in `unread` instead of holding up the others.
 */
async function waitingRuns(client: Client): Promise<{
  pending: ApprovalRequest[];
  paused: { workflowId: string; pause: RunPause; requestedBy?: string }[];
  unread: string[];
}> {
  const runs = await listWaitingRuns(client, { queryTimeoutMs: QUERY_DEADLINE_MS });
  return {
    pending: runs.flatMap((r) => r.requests ?? []),
    paused: runs.flatMap((r) =>
      r.pause !== undefined
        ? [
            {
              workflowId: r.workflowId,
              pause: r.pause,
              ...(r.requestedBy !== undefined ? { requestedBy: r.requestedBy } : {}),
            },
          ]
        : [],
    ),
    unread: runs.filter((r) => r.unreadable !== undefined).map((r) => r.workflowId),
  };
}

/**
 * Everything one reviewer's inbox shows: the pending requests across all runs, split into what the reviewer may
 * decide now and what waits on others; the open pauses; the reviewer's recent decisions.
 * @param client - a connected client
 * @param reviewer - the person the inbox is for
 * @returns the inbox, and the runs whose audit trail could not be read
 * @throws Error when the server cannot be reached
 * @example const { inbox } = await reviewerInbox(client, 'sam');
 */
export async function reviewerInbox(
  client: Client,
  reviewer: string,
): Promise<{ inbox: ReviewerInbox; unread: string[] }> {
  const [waiting, recent] = await Promise.all([waitingRuns(client), recentDecisions(client, reviewer)]);
  const pending = waiting.pending.sort((a, b) => a.deadline.localeCompare(b.deadline));
  const mine: ReviewerRequest[] = [];
  const others: ReviewerRequest[] = [];
  for (const request of pending) {
    const verdict = mayDecide(request, reviewer);
    if (verdict.ok) mine.push({ request, mayDecide: true });
    else others.push({ request, mayDecide: false, whyNot: verdict.reason });
  }
  const pauses = waiting.paused.map(({ workflowId, pause, requestedBy }): ReviewerPause => {
    const verdict = mayAnswer(pause, reviewer, requestedBy);
    return verdict.ok
      ? { workflowId, pause, mayAnswer: true }
      : { workflowId, pause, mayAnswer: false, whyNot: verdict.reason };
  });
  return {
    inbox: { reviewer: normalizeName(reviewer), mine, others, pauses, recent: recent.decisions },
    unread: [...waiting.unread, ...recent.unread],
  };
}
