// Our side of the step benchmarks, through public entry points only: a scripted run started with `startAgentRun`, its
// result awaited, and its history (every run of the chain, should it continue as new) fetched with the client. Nothing here depends on how the workflow keeps its conversation.
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common';
import { startAgentRun } from '../../client';
import { activityStartTimes, chainBytes, chainEvents, historyChain } from './common';
import { scenarioTurns, STEP_GOAL, type LoopTimes } from './scripted-agent';

/** One scripted step run on the workflow: server times of its start, of each tool start and of its end. */
export interface TemporalStepRun extends LoopTimes {
  workflowId: string;
  /** Serialised bytes of all the histories of the run's chain. */
  historyBytes: number;
  /** Events in all the histories of the chain. */
  events: number;
  /** Runs in the chain: 1 unless the workflow continued as new. */
  runs: number;
  /** `get_invoice` calls that started. */
  stepsDone: number;
  /** Why the run did not complete, when it did not. */
  error?: string;
}

/**
 * Runs `steps` scripted `get_invoice` turns and a final answer as one agent run, and reads its history.
 * @param client - a client of the server the worker polls
 * @param taskQueue - the worker's task queue
 * @param steps - tool-calling turns before the answer
 * @param maxSteps - the run input's cap on model calls (above `steps`)
 * @param histories - the client that reads the history (from `connectHistoryClient`: long runs have large pages)
 */
export async function runTemporalSteps(
  client: Client,
  taskQueue: string,
  steps: number,
  maxSteps: number,
  histories: Client,
): Promise<TemporalStepRun> {
  const { workflowId, handle } = await startAgentRun(
    client,
    {
      goal: STEP_GOAL,
      requestedBy: 'bench',
      model: { provider: 'scripted', scenario: { goal: STEP_GOAL, turns: scenarioTurns(steps) } },
      maxSteps,
    },
    { taskQueue },
  );
  let error: string | undefined;
  try {
    await handle.result();
  } catch (err) {
    // A run that fails (e.g. its history outgrows the server's limit) is a finding, not a crash of the benchmark.
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    error = `${err instanceof Error ? err.message : String(err)}${cause}`;
  }
  const chain = await historyChain(histories, workflowId);
  const events = chainEvents(chain);
  const toolStarts = activityStartTimes(events, 'get_invoice');
  const first = events[0]?.eventTime;
  const last = events.at(-1)?.eventTime;
  return {
    workflowId,
    startedAt: first != null ? tsToMs(first) : NaN,
    toolStarts,
    finishedAt: last != null ? tsToMs(last) : NaN,
    historyBytes: chainBytes(chain),
    events: events.length,
    runs: chain.length,
    stepsDone: toolStarts.length,
    ...(error !== undefined ? { error } : {}),
  };
}
