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

const WorkerEnvSchema = z.object({
  HITL_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(1_000_000).optional(),
});

/** Worker settings beyond the connection. */
export interface WorkerConfig {
  /**
   * Runs the worker keeps in memory between their tasks; the rest are evicted and replayed from their (bounded)
   * history when they wake. Absent: the SDK's default, sized from the heap.
   */
  maxCachedWorkflows?: number;
}

/**
 * Reads the worker settings: explicit values, then `HITL_MAX_CACHED_WORKFLOWS`, then the SDK's defaults.
 * @param overrides - explicit values
 * @param env - the environment to read (default `process.env`)
 * @throws ConfigError when a variable is not a whole number from 0 up
 */
export function workerConfig(overrides: WorkerConfig = {}, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const raw = env['HITL_MAX_CACHED_WORKFLOWS']?.trim();
  const parsed = WorkerEnvSchema.safeParse({ HITL_MAX_CACHED_WORKFLOWS: raw === '' ? undefined : raw });
  if (!parsed.success) throw new ConfigError(`bad worker settings: ${formatZodError(parsed.error)}`);
  const max = overrides.maxCachedWorkflows ?? parsed.data.HITL_MAX_CACHED_WORKFLOWS;
  return max !== undefined ? { maxCachedWorkflows: max } : {};
}
