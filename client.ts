import { readFile } from 'node:fs/promises';
import {
  Client,
  Connection,
  isGrpcServiceError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { nanoid } from 'nanoid';
import { connectionConfig, type ConnectionConfig } from './src/config';
import {
  formatZodError,
  parseDecisionMessage,
  ResumeSchema,
  StopSchema,
  type Decision,
  type DecisionMessage,
  type ResumeRequest,
  type StopRequest,
} from './src/decision';
import { InputError } from './src/errors';
import {
  AGENT_RUN_WORKFLOW,
  AgentRequesterKey,
  AgentStatusKey,
  auditTrailQuery,
  decideUpdate,
  decisionSignal,
  outcomesQuery,
  pendingApprovalsQuery,
  resumeUpdate,
  statusQuery,
  stopUpdate,
} from './src/messages';
import { ScenarioSchema, type Scenario } from './src/model/types';
import { AgentRunInputSchema, type AgentRunInput, type AgentRunInputDraft } from './src/run-input';
import type {
  AgentRunResult,
  ApprovalRequest,
  AuditEntry,
  DecisionReceipt,
  RunPause,
  RunStatus,
  ToolOutcome,
} from './src/run-state';

export type {
  AgentRunInput,
  AgentRunInputDraft,
  AgentRunResult,
  ApprovalRequest,
  AuditEntry,
  Decision,
  DecisionMessage,
  ResumeRequest,
  RunPause,
  RunStatus,
};

/** A decision the workflow refused; `message` is the validator's reason. */
export class DecisionRefusedError extends InputError {}

/**
 * Connects a client to the Temporal server named by the arguments, else `TEMPORAL_ADDRESS` / `TEMPORAL_NAMESPACE`.
 *
 * @param overrides - explicit address / namespace / task queue
 * @returns the client and the resolved settings
 * @throws Error when the server cannot be reached
 * @example
 * const { client } = await connectClient();
 */
export async function connectClient(
  overrides: Partial<ConnectionConfig> = {},
): Promise<{ client: Client; config: ConnectionConfig }> {
  const config = connectionConfig(overrides);
  const connection = await Connection.connect({
    address: config.address,
    // The SDK asks for 128 MiB under a key grpc-js does not read, so its real limit is 4 MiB: too small for the event
    // history of a long run (fetchHistory). This is grpc-js's own name for the limit.
    channelArgs: { 'grpc.max_receive_message_length': 128 * 2 ** 20 },
  });
  return { client: new Client({ connection, namespace: config.namespace }), config };
}

/**
 * Reads and validates a scenario file for the scripted model.
 *
 * @param path - JSON file `{ goal, turns: [...] }`
 * @returns the parsed scenario
 * @throws InputError naming the file and every problem found
 * @example
 * const scenario = await loadScenario('scenarios/refund-desk.json');
 */
export async function loadScenario(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read scenario file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`scenario file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = ScenarioSchema.safeParse(json);
  if (!parsed.success) throw new InputError(`scenario file ${path} is invalid: ${formatZodError(parsed.error)}`);
  return parsed.data;
}

/**
 * Starts an agent run.
 *
 * @param client - a connected client
 * @param draft - run input; validated here with {@link AgentRunInputSchema}
 * @param options - `workflowId` (default `agent-<nanoid>`), `taskQueue` (default from config)
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
  options: { workflowId?: string; taskQueue?: string } = {},
): Promise<{ workflowId: string; handle: WorkflowHandle }> {
  const parsed = AgentRunInputSchema.safeParse(draft);
  if (!parsed.success) throw new InputError(`invalid run input: ${formatZodError(parsed.error)}`);
  if (parsed.data.model.provider === 'scripted' && parsed.data.model.scenario === undefined) {
    throw new InputError('invalid run input: model.scenario is required for the scripted model');
  }
  const workflowId = options.workflowId ?? `agent-${nanoid(10)}`;
  const handle = await client.workflow.start(AGENT_RUN_WORKFLOW, {
    taskQueue: options.taskQueue ?? connectionConfig().taskQueue,
    workflowId,
    args: [parsed.data],
    typedSearchAttributes: [
      { key: AgentStatusKey, value: 'Running' },
      { key: AgentRequesterKey, value: parsed.data.requestedBy },
    ],
    staticSummary: `Agent run for ${parsed.data.requestedBy}: ${truncate(parsed.data.goal, 160)}`,
    staticDetails: describeRun(parsed.data),
  });
  return { workflowId, handle };
}

/**
 * Decides one approval request, or several at once (`{ decisions: [...] }`), through the `decide` update, so the
 * caller learns at once whether it was taken. A batch is all or nothing.
 *
 * @param client - a connected client
 * @param workflowId - the run
 * @param message - `{ requestId, decision, approver, argsHash, reason?, message?, args? }` or `{ decisions: [...] }`
 * @returns the receipt of the (last) decision: request id, decision, approver, the hash of the arguments that will run,
 *   whether the request closed and how many approvals it still needs
 * @throws InputError when the payload is malformed (nothing is sent)
 * @throws DecisionRefusedError with the workflow's reason when the validator refuses it
 * @example
 * await decide(client, 'agent-abc', { requestId, decision: 'approve', approver: 'alice', argsHash });
 */
export async function decide(client: Client, workflowId: string, message: DecisionMessage): Promise<DecisionReceipt> {
  const parsed = parseDecisionMessage(message);
  if (!parsed.ok) throw new InputError(parsed.reason);
  const handle = client.workflow.getHandle(workflowId);
  return sendUpdate((updateId) => handle.executeUpdate(decideUpdate, { args: [message], updateId }));
}

/** Turns an update refused by its validator into a {@link DecisionRefusedError} carrying the workflow's reason. */
/** Attempts at an update the server drops for a failed workflow task, before giving up. */
const UPDATE_ATTEMPTS = 6;

/**
 * Sends an update under one update id, which the server runs at most once however often it arrives. When the server
 * drops the update because the workflow task that would have taken it failed (it answers FAILED_PRECONDITION,
 * "unexpected workflow task failure": e.g. a run continuing as new while the update arrived), it is sent again, with
 * backoff; the workflow has not seen it. A refusal by the update's validator becomes a {@link DecisionRefusedError}.
 */
async function sendUpdate<T>(send: (updateId: string) => Promise<T>): Promise<T> {
  const updateId = `hitl-${nanoid()}`;
  for (let attempt = 1; ; attempt++) {
    try {
      return await send(updateId);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        throw new DecisionRefusedError(err.cause.message);
      }
      if (attempt >= UPDATE_ATTEMPTS || !droppedForWorkflowTaskFailure(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
}

/** Whether the server dropped an update because a workflow task failed (gRPC FAILED_PRECONDITION on the way). */
function droppedForWorkflowTaskFailure(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (
      isGrpcServiceError(e) &&
      Number(e.code) === GRPC_FAILED_PRECONDITION &&
      /workflow task failure/i.test(e.details)
    ) {
      return true;
    }
  }
  return false;
}

/** gRPC's status code for FAILED_PRECONDITION. */
const GRPC_FAILED_PRECONDITION = 9;

/**
 * Stops a run cleanly through the `stop` update: pending requests close, work in flight is cancelled, and the audit
 * trail records who stopped it and why. The run then completes with `stopped` set in its result.
 *
 * @param client - a connected client
 * @param workflowId - the run
 * @param stop - `{ by, reason }`
 * @returns how many pending requests were closed
 * @throws InputError when `by` or `reason` is missing
 * @throws DecisionRefusedError when the run is already ending
 * @example
 * await stopRun(client, 'agent-abc', { by: 'alice', reason: 'customer called back' });
 */
export async function stopRun(
  client: Client,
  workflowId: string,
  stop: StopRequest,
): Promise<{ closedRequests: number }> {
  const parsed = StopSchema.safeParse(stop);
  if (!parsed.success) throw new InputError(`invalid stop: ${formatZodError(parsed.error)}`);
  const handle = client.workflow.getHandle(workflowId);
  return sendUpdate((updateId) => handle.executeUpdate(stopUpdate, { args: [parsed.data], updateId }));
}

/**
 * Answers the run's open pause (plan review, checkpoint, spending or step budget, check-in, failing tool) through the
 * `resume` update. `stop`, `abort` and `reject` need a reason; `edit` of a plan needs the full replacement `steps`.
 *
 * @param client - a connected client
 * @param workflowId - the paused run
 * @param answer - `{ pauseId, action, by, reason?, steps? }`; `pauseId` comes from the `status` query's `pause`
 * @returns the pause id and the action taken
 * @throws InputError when the payload is malformed (nothing is sent)
 * @throws DecisionRefusedError with the workflow's reason when it is refused: not paused, another pause id, an action
 *   the pause does not offer, someone who may not answer, an edited plan step that fails its tool's schema
 * @example
 * const { pause } = await runStatus(client, 'agent-abc');
 * await resumeRun(client, 'agent-abc', { pauseId: pause!.pauseId, action: 'continue', by: 'ada' });
 */
export async function resumeRun(
  client: Client,
  workflowId: string,
  answer: ResumeRequest,
): Promise<{ pauseId: string; action: string }> {
  const parsed = ResumeSchema.safeParse(answer);
  if (!parsed.success) throw new InputError(`invalid resume: ${formatZodError(parsed.error)}`);
  const handle = client.workflow.getHandle(workflowId);
  return sendUpdate((updateId) => handle.executeUpdate(resumeUpdate, { args: [parsed.data], updateId }));
}

/**
 * Sends a decision as the `decision` signal (fire and forget). An invalid decision is recorded on the run's audit trail
 * as refused and changes nothing.
 *
 * @param client - a connected client
 * @param workflowId - the run
 * @param decision - any payload; the workflow validates it
 * @example
 * await signalDecision(client, 'agent-abc', { requestId, decision: 'reject', approver: 'bob', argsHash, reason: 'no' });
 */
export async function signalDecision(client: Client, workflowId: string, decision: unknown): Promise<void> {
  await client.workflow.getHandle(workflowId).signal(decisionSignal, decision as DecisionMessage);
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

/**
 * Picks the request id to decide: the given one, or the only pending request of the run.
 *
 * @throws InputError when none is given and the run has zero or several pending requests
 */
export async function resolveRequestId(client: Client, workflowId: string, requestId?: string): Promise<string> {
  if (requestId !== undefined) return requestId;
  const pending = await pendingApprovals(client, workflowId);
  const only = pending[0];
  if (pending.length === 1 && only !== undefined) return only.requestId;
  if (pending.length === 0) throw new InputError(`run ${workflowId} has no pending approval request`);
  throw new InputError(
    `run ${workflowId} has ${pending.length} pending requests; name one: ${pending.map((p) => `${p.requestId} (${p.tool})`).join(', ')}`,
  );
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
      : `OpenAI-compatible model ${input.model.model || '(worker default)'}`;
  return [
    `**Goal:** ${input.goal}`,
    '',
    `- requested by: ${input.requestedBy}`,
    `- model: ${model}; at most ${input.maxSteps} model calls`,
    `- default approval timeout: ${readableDuration(input.approvalTimeoutMs)}`,
    `- review: ${input.review === 'plan' ? 'the whole plan once, before anything runs' : 'each gated call'}`,
    `- policy: ${input.policy !== undefined ? `${input.policy.version} (from the run input)` : "the worker's"}`,
  ].join('\n');
}
