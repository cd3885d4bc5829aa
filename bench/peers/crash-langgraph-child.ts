// The LangGraph.js process of the crash benchmark. Two modes, one thread each time:
//   crash <checkpoints.sqlite> <billing.sqlite> <thread>: runs the refund graph to its interrupt(), resumes it with an
//     approval, and once the tool has committed its refund row prints `committed` and waits forever (to be killed).
//   recover <checkpoints.sqlite> <billing.sqlite> <thread>: what a LangGraph user does after a crash: invoke(null)
//     on the same thread_id, which runs the thread on from its last checkpoint; prints `recovered <next nodes>`.
import { Command } from '@langchain/langgraph';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { openBillingDb } from '../../activities/billing/index';
import { buildRefundGraph, refundInput, type RefundDecision } from './langgraph-agent';

const [mode, checkpointFile, billingFile, threadId] = process.argv.slice(2);

/** Never settles, and keeps the event loop alive (a bare pending promise would let the process exit). */
function holdForever(): Promise<never> {
  return new Promise(() => {
    setInterval(() => undefined, 60_000);
  });
}

async function main(): Promise<void> {
  if (checkpointFile === undefined || billingFile === undefined || threadId === undefined) {
    throw new Error('usage: crash-langgraph-child.ts crash|recover <checkpoints> <billing> <thread>');
  }
  const db = openBillingDb(billingFile);
  const saver = SqliteSaver.fromConnString(checkpointFile);
  const graph = buildRefundGraph({
    db,
    checkpointer: saver,
    refund: { invoiceId: 1, amountCents: 1, reason: 'bench' },
    ...(mode === 'crash'
      ? {
          afterCommit: () => {
            process.stdout.write('committed\n');
            return holdForever();
          },
        }
      : {}),
  });
  const config = { configurable: { thread_id: threadId } };
  if (mode === 'crash') {
    await graph.invoke(refundInput(), config);
    const resume: RefundDecision = { decision: 'approve' };
    await graph.invoke(new Command({ resume }), config);
    throw new Error('the tool returned although it should have been held');
  } else if (mode === 'recover') {
    await graph.invoke(null, config);
    const state = await graph.getState(config);
    process.stdout.write(`recovered ${state.next.join(',') || '(end)'}\n`);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  saver.db.close();
  db.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
