import { z } from 'zod';
import { ConfigError } from '../shared/errors';
import { formatZodError } from '../shared/zod-format';

/** Default task queue of agent runs. */
export const DEFAULT_TASK_QUEUE = 'hitl-agent';

const ConnectionEnvSchema = z.object({
  TEMPORAL_ADDRESS: z.string().trim().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().trim().min(1).default('default'),
  HITL_TASK_QUEUE: z.string().trim().min(1).default(DEFAULT_TASK_QUEUE),
});

/** Where to find the Temporal server and which task queue runs agent runs. */
export interface ConnectionConfig {
  /** gRPC address `host:port`. */
  address: string;
  namespace: string;
  taskQueue: string;
}

/**
 * Reads the connection settings: explicit values first, then `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE` and
 * `HITL_TASK_QUEUE` (the first two as in Temporal's own tools), then defaults (`127.0.0.1:7233`, `default`,
 * `hitl-agent`).
 *
 * @param overrides - explicit values, e.g. from CLI flags
 * @param env - the environment to read (default `process.env`)
 * @throws ConfigError when a variable is set but empty
 */
export function connectionConfig(
  overrides: Partial<ConnectionConfig> = {},
  env: NodeJS.ProcessEnv = process.env,
): ConnectionConfig {
  const parsed = ConnectionEnvSchema.safeParse({
    TEMPORAL_ADDRESS: overrides.address ?? env['TEMPORAL_ADDRESS'],
    TEMPORAL_NAMESPACE: overrides.namespace ?? env['TEMPORAL_NAMESPACE'],
    HITL_TASK_QUEUE: overrides.taskQueue ?? env['HITL_TASK_QUEUE'],
  });
  if (!parsed.success) throw new ConfigError(`bad connection settings: ${formatZodError(parsed.error)}`);
  return {
    address: parsed.data.TEMPORAL_ADDRESS,
    namespace: parsed.data.TEMPORAL_NAMESPACE,
    taskQueue: parsed.data.HITL_TASK_QUEUE,
  };
}

const count = (max: number) => z.coerce.number().int().min(0).max(max).optional();

const WorkerEnvSchema = z.object({
  HITL_MAX_CACHED_WORKFLOWS: count(1_000_000),
  HITL_MAX_ACTIVITY_SLOTS: count(100_000).pipe(z.number().min(1).optional()),
  HITL_MAX_WORKFLOW_TASK_SLOTS: count(100_000).pipe(z.number().min(2).optional()),
  HITL_SHUTDOWN_GRACE_MS: count(3_600_000),
});

/** Time in-flight activities get to finish after SIGTERM or SIGINT before they are cancelled, by default (ms). */
export const DEFAULT_SHUTDOWN_GRACE_MS = 20_000;

/** Worker settings beyond the connection. */
export interface WorkerConfig {
  /**
   * Runs the worker keeps in memory between their tasks; the rest are evicted and replayed from their (bounded)
   * history when they wake. Absent: the SDK's default, sized from the heap.
   */
  maxCachedWorkflows?: number;
  /** Activities (model calls, tools, prechecks, notifications) the worker runs at once. Absent: the SDK's 100. */
  maxConcurrentActivityTaskExecutions?: number;
  /** Workflow tasks the worker runs at once (at least 2). Absent: the SDK's 40. */
  maxConcurrentWorkflowTaskExecutions?: number;
  /**
   * After SIGTERM or SIGINT, how long in-flight activities may run on before they are cancelled (ms); the worker
   * takes no new tasks meanwhile. Default {@link DEFAULT_SHUTDOWN_GRACE_MS}.
   */
  shutdownGraceTime: number;
}

/**
 * Reads the worker settings: explicit values, then `HITL_MAX_CACHED_WORKFLOWS`, `HITL_MAX_ACTIVITY_SLOTS`,
 * `HITL_MAX_WORKFLOW_TASK_SLOTS` and `HITL_SHUTDOWN_GRACE_MS`, then defaults (the SDK's, and
 * {@link DEFAULT_SHUTDOWN_GRACE_MS}). See docs/worker-tuning.md for sizing them.
 * @param overrides - explicit values
 * @param env - the environment to read (default `process.env`)
 * @returns options for `Worker.create` (absent keys leave the SDK's defaults)
 * @throws ConfigError when a variable is not a whole number in its range (slots: activity at least 1, workflow task
 *   at least 2; grace at most an hour)
 */
export function workerConfig(
  overrides: Partial<WorkerConfig> = {},
  env: NodeJS.ProcessEnv = process.env,
): WorkerConfig {
  const read = (name: string): string | undefined => {
    const raw = env[name]?.trim();
    return raw === '' ? undefined : raw;
  };
  const parsed = WorkerEnvSchema.safeParse({
    HITL_MAX_CACHED_WORKFLOWS: read('HITL_MAX_CACHED_WORKFLOWS'),
    HITL_MAX_ACTIVITY_SLOTS: read('HITL_MAX_ACTIVITY_SLOTS'),
    HITL_MAX_WORKFLOW_TASK_SLOTS: read('HITL_MAX_WORKFLOW_TASK_SLOTS'),
    HITL_SHUTDOWN_GRACE_MS: read('HITL_SHUTDOWN_GRACE_MS'),
  });
  if (!parsed.success) throw new ConfigError(`bad worker settings: ${formatZodError(parsed.error)}`);
  const d = parsed.data;
  const cache = overrides.maxCachedWorkflows ?? d.HITL_MAX_CACHED_WORKFLOWS;
  const activities = overrides.maxConcurrentActivityTaskExecutions ?? d.HITL_MAX_ACTIVITY_SLOTS;
  const workflowTasks = overrides.maxConcurrentWorkflowTaskExecutions ?? d.HITL_MAX_WORKFLOW_TASK_SLOTS;
  return {
    ...(cache !== undefined ? { maxCachedWorkflows: cache } : {}),
    ...(activities !== undefined ? { maxConcurrentActivityTaskExecutions: activities } : {}),
    ...(workflowTasks !== undefined ? { maxConcurrentWorkflowTaskExecutions: workflowTasks } : {}),
    shutdownGraceTime: overrides.shutdownGraceTime ?? d.HITL_SHUTDOWN_GRACE_MS ?? DEFAULT_SHUTDOWN_GRACE_MS,
  };
}
