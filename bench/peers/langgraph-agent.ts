// The LangGraph.js side of the peer benchmarks, written as its documentation teaches: a StateGraph over
// MessagesAnnotation with a model node and a tool node, compiled with a checkpointer, one thread_id per run; a gated
// tool calls interrupt() and is resumed with new Command({ resume }). The model is scripted (scripted-agent.ts) and the
// tools are the billing toolkit's own functions, so the work inside the nodes is what the Temporal activities do.
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { AIMessage, HumanMessage, SystemMessage, ToolMessage, isAIMessage } from '@langchain/core/messages';
import {
  END,
  MessagesAnnotation,
  START,
  StateGraph,
  interrupt,
  type LangGraphRunnableConfig,
} from '@langchain/langgraph';
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import type { BillingDb } from '../../activities/billing/index';
import { recordRefund } from '../../activities/billing/tools';
import { DEFAULT_SYSTEM_PROMPT } from '../../src/shared/run-input';
import { issueRefund } from '../../src/shared/tools/billing';
import { runGetInvoice, scriptedReply, STEP_GOAL, type LoopTimes, type ScriptedReply } from './scripted-agent';

type State = typeof MessagesAnnotation.State;

/** LangGraph's checkpoint durability: `async` (its default) writes a step's checkpoint while the next step runs. */
export type Durability = 'async' | 'sync' | 'exit';

/** The system prompt and the goal: the conversation every run starts from, as in the workflow. */
const initialMessages = (goal: string) => [new SystemMessage(DEFAULT_SYSTEM_PROMPT), new HumanMessage(goal)];

function toAIMessage(reply: ScriptedReply): AIMessage {
  return new AIMessage({
    content: reply.content,
    tool_calls: reply.toolCalls.map((c) => ({ id: c.id, name: c.name, args: c.args, type: 'tool_call' as const })),
  });
}

function lastToolCalls(state: State) {
  const last = state.messages.at(-1);
  return last !== undefined && isAIMessage(last) ? (last.tool_calls ?? []) : [];
}

const routeAfterModel = (state: State): 'tools' | typeof END => (lastToolCalls(state).length > 0 ? 'tools' : END);

/**
 * The step loop as a graph: `model` (scripted) → `tools` (`get_invoice` on the billing database) → `model` … until
 * the final answer.
 * @param db - the billing database the tool reads
 * @param checkpointer - where LangGraph keeps the thread's checkpoints
 * @param steps - tool-calling turns before the answer
 * @param toolStarts - receives `performance.now()` as each tool call starts
 */
export function buildStepGraph(db: BillingDb, checkpointer: BaseCheckpointSaver, steps: number, toolStarts: number[]) {
  return new StateGraph(MessagesAnnotation)
    .addNode('model', (state: State) => {
      // Two messages (system, goal) first, then one model message and one tool message per step: constant time.
      const turn = Math.floor((state.messages.length - 2) / 2) + 1;
      return { messages: [toAIMessage(scriptedReply(turn, steps))] };
    })
    .addNode('tools', (state: State) => {
      toolStarts.push(performance.now());
      return {
        messages: lastToolCalls(state).map(
          (c) => new ToolMessage({ tool_call_id: c.id ?? '', name: c.name, content: runGetInvoice(db, c.args) }),
        ),
      };
    })
    .addEdge(START, 'model')
    .addConditionalEdges('model', routeAfterModel, ['tools', END])
    .addEdge('tools', 'model')
    .compile({ checkpointer });
}

/** What a LangGraph step run reports besides its times. */
export interface LangGraphRun extends LoopTimes {
  /** Checkpoint and pending-write bytes the thread left in the saver's tables. */
  checkpointBytes: number;
  /** Rows in the `checkpoints` table for the thread. */
  checkpoints: number;
  /** The SQLite file (and its WAL) after the run, in bytes. */
  fileBytes: number;
}

/**
 * Runs the step graph once on a fresh SqliteSaver file.
 * @param db - the billing database
 * @param file - a new SQLite file for the checkpointer
 * @param steps - tool-calling turns before the answer
 * @param durability - when checkpoints are written
 */
export async function runStepGraph(
  db: BillingDb,
  file: string,
  steps: number,
  durability: Durability,
): Promise<LangGraphRun> {
  const saver = SqliteSaver.fromConnString(file);
  try {
    const toolStarts: number[] = [];
    const graph = buildStepGraph(db, saver, steps, toolStarts);
    const threadId = randomUUID();
    const startedAt = performance.now();
    // Each step is two supersteps (model, tools); the default limit of 25 would stop a run after 12 steps.
    await graph.invoke(
      { messages: initialMessages(STEP_GOAL) },
      { configurable: { thread_id: threadId }, recursionLimit: 2 * steps + 10, durability },
    );
    const finishedAt = performance.now();
    return { startedAt, toolStarts, finishedAt, ...checkpointSize(saver, threadId), fileBytes: sqliteFileBytes(saver) };
  } finally {
    saver.db.close();
  }
}

/** Bytes of a thread's serialised checkpoints, their metadata and its pending writes, as SqliteSaver stored them. */
function checkpointSize(saver: SqliteSaver, threadId: string): { checkpointBytes: number; checkpoints: number } {
  const checkpoints = saver.db
    .prepare<[string], { bytes: number; n: number }>(
      `SELECT COALESCE(SUM(LENGTH(CAST(checkpoint AS BLOB)) + LENGTH(CAST(metadata AS BLOB))), 0) AS bytes,
              COUNT(*) AS n
         FROM checkpoints WHERE thread_id = ?`,
    )
    .get(threadId);
  const writes = saver.db
    .prepare<[string], { bytes: number }>(
      'SELECT COALESCE(SUM(LENGTH(CAST(value AS BLOB))), 0) AS bytes FROM writes WHERE thread_id = ?',
    )
    .get(threadId);
  return { checkpointBytes: (checkpoints?.bytes ?? 0) + (writes?.bytes ?? 0), checkpoints: checkpoints?.n ?? 0 };
}

/** The saver's file size once its WAL is folded in (what the run left on disk). */
function sqliteFileBytes(saver: SqliteSaver): number {
  saver.db.pragma('wal_checkpoint(TRUNCATE)');
  return statSync(saver.db.name).size;
}

/** The reviewer's answer, passed to `Command({ resume })`. */
export interface RefundDecision {
  decision: 'approve' | 'reject';
}

/** Options of {@link buildRefundGraph}. */
export interface RefundGraphOptions {
  /** The billing database the refund is written to. */
  db: BillingDb;
  checkpointer: BaseCheckpointSaver;
  /** The refund the scripted model proposes. */
  refund: { invoiceId: number; amountCents: number; reason: string };
  /** Called when the approved tool starts, before it writes. */
  onToolStart?: () => void;
  /** Awaited after the refund row is committed and before the node returns (the crash test stops here). */
  afterCommit?: () => Promise<void>;
}

/** Tag of the refund rows a LangGraph thread wrote; see {@link buildRefundGraph}. */
export const langGraphRefundTag = (threadId: string): string => `langgraph:${threadId}:`;

/**
 * A one-refund agent with an approval gate as LangGraph teaches it: the model proposes `issue_refund`; the tool node
 * calls `interrupt()` with the call, and once resumed with an approval writes the refund. The write is what a typical
 * LangGraph user writes: a plain insert (the toolkit's `recordRefund`, without the project's idempotency ledger).
 * The row's `idempotency_key` column gets `langgraph:<thread>:<fresh uuid>`: a label to count rows per thread, new on
 * every attempt, so it deduplicates nothing.
 * @param options - see {@link RefundGraphOptions}
 */
export function buildRefundGraph(options: RefundGraphOptions) {
  const { db, refund } = options;
  return new StateGraph(MessagesAnnotation)
    .addNode('model', (state: State) => {
      const done = state.messages.some((m) => m.getType() === 'tool');
      const message = done
        ? new AIMessage('Refund handled.')
        : new AIMessage({
            content: 'Refunding the duplicate charge.',
            tool_calls: [{ id: 'call_1_1', name: 'issue_refund', args: refund, type: 'tool_call' }],
          });
      return { messages: [message] };
    })
    .addNode('tools', async (state: State, config: LangGraphRunnableConfig) => {
      const call = lastToolCalls(state)[0];
      if (call === undefined) return { messages: [] };
      const answer = interrupt<{ tool: string; args: unknown }, RefundDecision>({ tool: call.name, args: call.args });
      if (answer.decision !== 'approve') {
        return { messages: [new ToolMessage({ tool_call_id: call.id ?? '', name: call.name, content: 'rejected' })] };
      }
      options.onToolStart?.();
      const threadId: unknown = config.configurable?.['thread_id'];
      const row = recordRefund(
        db,
        issueRefund.parameters.parse(call.args),
        `${langGraphRefundTag(String(threadId))}${randomUUID()}`,
      );
      await options.afterCommit?.();
      return {
        messages: [new ToolMessage({ tool_call_id: call.id ?? '', name: call.name, content: JSON.stringify(row) })],
      };
    })
    .addEdge(START, 'model')
    .addConditionalEdges('model', routeAfterModel, ['tools', END])
    .addEdge('tools', 'model')
    .compile({ checkpointer: options.checkpointer });
}

/** The input that starts a refund thread. */
export const refundInput = (): { messages: (SystemMessage | HumanMessage)[] } => ({
  messages: initialMessages('Refund the duplicate charge'),
});

/**
 * Counts the refund rows a LangGraph thread wrote.
 * @param db - the billing database
 * @param threadId - the thread
 */
export function langGraphRefundRows(db: BillingDb, threadId: string): number {
  return (
    db
      .prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM hitl_refund WHERE idempotency_key LIKE ?')
      .get(`${langGraphRefundTag(threadId)}%`)?.n ?? 0
  );
}
