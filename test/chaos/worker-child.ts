// A worker in a process of its own, for tests that SIGKILL it (test/support/worker-process.ts starts it). It runs
// the project's createWorker on a prebuilt workflow bundle, so a restart takes about a second. Configuration comes
// from the environment: TEMPORAL_ADDRESS, HITL_TASK_QUEUE, HITL_BILLING_DB (an existing file), HITL_METRICS_PORT and HITL_METRICS_POLL_MS, HITL_CHAOS_BUNDLE (the
// bundle's code file), HITL_POLICY (the runs' policies: a file or directory), OPENAI_BASE_URL and OPENAI_API_KEY for
// the model, HITL_CHAOS_MODEL_TIMEOUT_MS, and whatever the activities read themselves (HITL_FAULT_HOLD_AFTER_COMMIT,
// HITL_TRANSCRIPT_DB). The approver registry and the state key are the tests' own. It prints `ready` on stdout once
// the worker is created, then runs until it is killed.
import { NativeConnection } from '@temporalio/worker';
import { z } from 'zod';
import { openBillingDb } from '../../activities/billing/index';
import { loadPolicyBook } from '../../src/node/policy-book';
import { TEST_REGISTRY, TEST_STATE_KEY } from '../support/keys';
import { createWorker } from '../../worker';
import { installRuntime, telemetrySettings, watchRunsWaiting } from '../../src/node/telemetry/runtime';

const Env = z.object({
  TEMPORAL_ADDRESS: z.string().min(1),
  HITL_TASK_QUEUE: z.string().min(1),
  HITL_BILLING_DB: z.string().min(1),
  HITL_CHAOS_BUNDLE: z.string().min(1),
  OPENAI_BASE_URL: z.string().optional(),
  OPENAI_API_KEY: z.string().optional(),
  HITL_CHAOS_MODEL_TIMEOUT_MS: z.coerce.number().int().positive().default(20_000),
});

const env = Env.parse(process.env);
// The worker's own runtime set-up: SDK lines through the logger at HITL_LOG_LEVEL, Prometheus with HITL_METRICS_PORT.
const telemetry = telemetrySettings();
installRuntime(telemetry);
const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
const worker = await createWorker({
  connection,
  taskQueue: env.HITL_TASK_QUEUE,
  billingDb: openBillingDb(env.HITL_BILLING_DB),
  workflowBundle: { codePath: env.HITL_CHAOS_BUNDLE },
  policies: loadPolicyBook(),
  registry: TEST_REGISTRY,
  stateKey: TEST_STATE_KEY,
  model: {
    openai: {
      apiKey: env.OPENAI_API_KEY ?? 'chaos-key',
      ...(env.OPENAI_BASE_URL !== undefined ? { baseURL: env.OPENAI_BASE_URL } : {}),
      timeoutMs: env.HITL_CHAOS_MODEL_TIMEOUT_MS,
    },
  },
});
if (telemetry.metrics !== undefined) {
  watchRunsWaiting({
    connection,
    namespace: 'default',
    taskQueue: env.HITL_TASK_QUEUE,
    intervalMs: telemetry.metrics.pollMs,
  });
}
process.stdout.write('ready\n');
await worker.run();
await connection.close();
