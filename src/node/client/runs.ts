import type { Client, WorkflowHandle } from '@temporalio/client';
import { nanoid } from 'nanoid';
import { InputError } from '../../shared/errors';
import {
  AGENT_RUN_WORKFLOW,
  AgentRequesterKey,
  AgentStatusKey,
  auditTrailQuery,
  outcomesQuery,
  pendingApprovalsQuery,
  statusQuery,
} from '../../shared/messages';
import { AgentRunInputSchema, type AgentRunInput, type AgentRunInputDraft } from '../../shared/run-input';
import type {
  AgentRunResult,
  ApprovalRequest,
  AuditEntry,
  RunPause,
  RunStatus,
  ToolOutcome,
} from '../../shared/run-state';
import { formatZodError } from '../../shared/zod-format';
import { connectionConfig } from '../config';
import type { SigningKey } from '../identity/keys';
import { signStart } from './signing';

/**
 * Starts an agent run.
 *
 * @param client - a connected client
 * @param draft - run input; validated here with {@link AgentRunInputSchema}
 * @param options - `workflowId` (default `agent-<nanoid>`), `taskQueue` (default from config), `key`: sign the start
 *   with the requester's key (a policy with `signatures: required` refuses an unsigned start)
 * @returns the workflow id and handle
 * @throws InputError when the input is invalid
 * @example
 * const { workflowId } = await startAgentRun(client, {
 *   goal: 'Refund the duplicate charge on invoice 12', requestedBy: 'bob',
 *   model: { provider: 'scripted', scenario },
 * });
 */
export async function startAgentRun(
  client: Client,
  draft: AgentRunInputDraft,
  options: { workflowId?: string; taskQueue?: string; key?: SigningKey } = {},
): Promise<{ workflowId: string; handle: WorkflowHandle }> {
  const parsed = AgentRunInputSchema.safeParse(draft);
  if (!parsed.success) throw new InputError(`invalid run input: ${formatZodError(parsed.error)}`);
  if (parsed.data.model.provider === 'scripted' && parsed.data.model.scenario === undefined) {
    throw new InputError('invalid run input: model.scenario is required for the scripted model');
  }
  const workflowId = options.workflowId ?? `agent-${nanoid(10)}`;
  const args =
    options.key !== undefined
      ? signStart(parsed.data, options.key, { namespace: client.options.namespace, workflowId })
      : parsed.data;
  const handle = await client.workflow.start(AGENT_RUN_WORKFLOW, {
    taskQueue: options.taskQueue ?? connectionConfig().taskQueue,
    workflowId,
    args: [args],
    typedSearchAttributes: [
      { key: AgentStatusKey, value: 'Running' },
      { key: AgentRequesterKey, value: parsed.data.requestedBy },
    ],
    staticSummary: `Agent run for ${parsed.data.requestedBy}: ${truncate(parsed.data.goal, 160)}`,
    staticDetails: describeRun(args),
  });
  return { workflowId, handle };
}

/**
 * The run's pending approval requests (query `pendingApprovals`).
 * @example const pending = await pendingApprovals(client, 'agent-abc');
 */
export async function pendingApprovals(client: Client, workflowId: string): Promise<ApprovalRequest[]> {
  return client.workflow.getHandle(workflowId).query(pendingApprovalsQuery);
}

/**
 * The run's status (query `status`).
 * @example const status = await runStatus(client, 'agent-abc');
 */
export async function runStatus(client: Client, workflowId: string): Promise<RunStatus> {
  return client.workflow.getHandle(workflowId).query(statusQuery);
}

/**
 * The run's whole audit trail (query `auditTrail`), oldest first; works on completed runs too. A run that continued
 * as new keeps each segment's entries in that segment's Temporal run: they are queried one by one (a worker must be
 * polling the task queue to answer queries on closed runs).
 * @example const entries = await auditTrail(client, 'agent-abc');
 */
export async function auditTrail(client: Client, workflowId: string): Promise<AuditEntry[]> {
  const latest = client.workflow.getHandle(workflowId);
  const entries = await latest.query(auditTrailQuery);
  // Sequence numbers go on across segments: a trail that starts at 1 has no earlier segment to fetch. An empty one may
  // be a segment that has just begun.
  if (entries[0]?.seq === 1) return entries;
  const { earlierRuns } = await latest.query(statusQuery);
  const earlier: AuditEntry[] = [];
  for (const runId of earlierRuns)
    earlier.push(...(await client.workflow.getHandle(workflowId, runId).query(auditTrailQuery)));
  return [...earlier, ...entries];
}

/**
 * Waits for the run to finish, following it across continue-as-new.
 * @returns the workflow result, with the outcomes of every segment (query `outcomes` on the earlier ones), in order
 * @throws WorkflowFailedError when the run failed
 * @example const result = await runResult(client, 'agent-abc');
 */
export async function runResult(client: Client, workflowId: string): Promise<AgentRunResult> {
  const result = (await client.workflow.getHandle(workflowId).result()) as AgentRunResult;
  const earlier: ToolOutcome[] = [];
  for (const runId of result.earlierRuns) {
    earlier.push(...(await client.workflow.getHandle(workflowId, runId).query(outcomesQuery)));
  }
  return { ...result, outcomes: [...earlier, ...result.outcomes] };
}

/**
 * Pending approval requests across all runs, found through visibility (`AgentStatus="AwaitingApproval"`) and then
 * queried one run at a time. Visibility lags by up to a second on the dev server.
 *
 * @param client - a connected client
 * @returns requests, oldest deadline first
 * @example const all = await listPendingApprovals(client);
 */
export async function listPendingApprovals(client: Client): Promise<ApprovalRequest[]> {
  const out: ApprovalRequest[] = [];
  const query = `WorkflowType = '${AGENT_RUN_WORKFLOW}' AND ExecutionStatus = 'Running' AND AgentStatus = 'AwaitingApproval'`;
  for await (const info of client.workflow.list({ query })) {
    try {
      out.push(...(await pendingApprovals(client, info.workflowId)));
    } catch {
      // The run finished between the listing and the query: it has nothing pending.
    }
  }
  return out.sort((a, b) => a.deadline.localeCompare(b.deadline));
}

/**
 * Runs paused for a person (`AgentStatus="Paused"`), each with its open pause, found through visibility and then
 * queried one run at a time. Visibility lags by up to a second on the dev server.
 *
 * @param client - a connected client
 * @returns paused runs, oldest deadline first
 * @example for (const { workflowId, pause } of await listPausedRuns(client)) console.log(workflowId, pause.kind);
 */
export async function listPausedRuns(client: Client): Promise<{ workflowId: string; pause: RunPause }[]> {
  const out: { workflowId: string; pause: RunPause }[] = [];
  const query = `WorkflowType = '${AGENT_RUN_WORKFLOW}' AND ExecutionStatus = 'Running' AND AgentStatus = 'Paused'`;
  for await (const info of client.workflow.list({ query })) {
    try {
      const { pause } = await runStatus(client, info.workflowId);
      if (pause !== undefined) out.push({ workflowId: info.workflowId, pause });
    } catch {
      // The run finished between the listing and the query.
    }
  }
  return out.sort((a, b) => a.pause.deadline.localeCompare(b.pause.deadline));
}

/** Cuts text at a word boundary so it fits in `max` characters. */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > max / 2 ? cut.slice(0, space) : cut}…`;
}

/** `45 s`, `30 min`, `24 h`, `2 d`: the largest unit that keeps the number whole, else minutes. */
function readableDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1_000, 's'],
  ];
  for (const [size, unit] of units) if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  return `${Math.round(ms / 60_000)} min`;
}

/** The Web UI's static details of a run: what it is for and how it is set up (Markdown). */
function describeRun(input: AgentRunInput): string {
  const model =
    input.model.provider === 'scripted'
      ? `scripted model (${input.model.scenario?.turns.length ?? 0} turns)`
      : input.model.provider === 'local'
        ? "the worker's local GGUF model"
        : `OpenAI-compatible model ${input.model.model || '(worker default)'}`;
  return [
    `**Goal:** ${input.goal}`,
    '',
    `- requested by: ${input.requestedBy}`,
    `- model: ${model}; at most ${input.maxSteps} model calls`,
    `- default approval timeout: ${readableDuration(input.approvalTimeoutMs)}`,
    `- review: ${input.review === 'plan' ? 'the whole plan once, before anything runs' : 'each gated call'}`,
  ].join('\n');
}
