import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { TLSConfig } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
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

/** Where to find the Temporal server, how to reach it, and which task queue runs agent runs. */
export interface ConnectionConfig {
  /** gRPC address `host:port`. */
  address: string;
  namespace: string;
  taskQueue: string;
  /**
   * TLS: `true` (system roots), the certificates to present and trust, or `false` (off). Absent: plain, unless an API
   * key turns it on.
   */
  tls?: TLSConfig | boolean;
  /** Temporal Cloud API key, sent as a bearer token (implies TLS). */
  apiKey?: string;
  /** gRPC headers sent with every call (`grpc_meta` of the profile, `TEMPORAL_GRPC_META_*`). */
  metadata?: Record<string, string>;
}

/** Explicit connection values (CLI flags); each wins over the environment and the profile. */
export interface ConnectionOverrides extends Partial<Pick<ConnectionConfig, 'address' | 'namespace' | 'taskQueue'>> {
  /** The profile of the config file to use (else `TEMPORAL_PROFILE`, else `default`). */
  profile?: string;
  /** The `temporal.toml` to read (else `TEMPORAL_CONFIG_FILE`, else the user's default one). */
  configFile?: string;
}

/**
 * Reads the connection settings as every Temporal tool does (Temporal's environment configuration,
 * `@temporalio/envconfig`): explicit values first; then `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`,
 * `TEMPORAL_TLS*` and `TEMPORAL_GRPC_META_*`; then the profile (`TEMPORAL_PROFILE`, else `default`) of the config file
 * (`TEMPORAL_CONFIG_FILE`, else `~/.config/temporalio/temporal.toml` when it exists); then the defaults
 * (`127.0.0.1:7233`, `default`). The task queue is the project's own: explicit, then `HITL_TASK_QUEUE`, then
 * `hitl-agent`. Certificate and key files are read here.
 *
 * @param overrides - explicit values, e.g. from CLI flags
 * @param env - the environment to read (default `process.env`)
 * @returns the settings; `tls`, `apiKey` and `metadata` only when something sets them
 * @throws ConfigError when a variable is set but empty, or the config file is missing (when named), unreadable or
 *   invalid, lacks the named profile, or names a certificate or key file that cannot be read; the message names the file
 */
export function connectionConfig(
  overrides: ConnectionOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): ConnectionConfig {
  const parsed = ConnectionEnvSchema.safeParse({
    TEMPORAL_ADDRESS: overrides.address ?? env['TEMPORAL_ADDRESS'],
    TEMPORAL_NAMESPACE: overrides.namespace ?? env['TEMPORAL_NAMESPACE'],
    HITL_TASK_QUEUE: overrides.taskQueue ?? env['HITL_TASK_QUEUE'],
  });
  if (!parsed.success) throw new ConfigError(`bad connection settings: ${formatZodError(parsed.error)}`);
  const profile = loadProfile(overrides, env);
  let connect: ReturnType<typeof toClientOptions>;
  try {
    connect = toClientOptions(profile.settings);
  } catch (err) {
    throw new ConfigError(`cannot read a TLS file named by ${profile.describe}: ${(err as Error).message}`);
  }
  const { tls, apiKey, metadata } = connect.connectionOptions;
  return {
    address: overrides.address ?? profile.settings.address ?? parsed.data.TEMPORAL_ADDRESS,
    namespace: overrides.namespace ?? profile.settings.namespace ?? parsed.data.TEMPORAL_NAMESPACE,
    taskQueue: parsed.data.HITL_TASK_QUEUE,
    ...(tls !== undefined && tls !== null ? { tls } : {}),
    ...(typeof apiKey === 'string' ? { apiKey } : {}),
    ...(metadata !== undefined && Object.keys(metadata).length > 0
      ? { metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, String(v)])) }
      : {}),
  };
}

/**
 * The options of `Connection.connect` (client) and `NativeConnection.connect` (worker) for these settings.
 * @param config - settings from {@link connectionConfig}
 * @returns address, and TLS, API key and headers when set
 */
export function connectOptions(
  config: ConnectionConfig,
): Pick<ConnectionConfig, 'address' | 'tls' | 'apiKey' | 'metadata'> {
  return {
    address: config.address,
    ...(config.tls !== undefined ? { tls: config.tls } : {}),
    ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}),
    ...(config.metadata !== undefined ? { metadata: config.metadata } : {}),
  };
}

/** The profile, with the environment's `TEMPORAL_*` values applied over it, and words naming where it came from. */
function loadProfile(
  overrides: ConnectionOverrides,
  env: NodeJS.ProcessEnv,
): { settings: ClientConfigProfile; describe: string } {
  const vars = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  );
  const named = overrides.configFile ?? vars['TEMPORAL_CONFIG_FILE'];
  const file = named ?? defaultConfigFile(vars);
  const profileName = overrides.profile ?? vars['TEMPORAL_PROFILE'];
  const where = file !== undefined ? `the Temporal config file ${file}` : 'the environment';
  const describe = profileName !== undefined ? `profile ${profileName} of ${where}` : where;
  if (named !== undefined && !existsSync(named)) {
    throw new ConfigError(
      `the Temporal config file ${named} does not exist (named by ${overrides.configFile !== undefined ? '--config-file' : 'TEMPORAL_CONFIG_FILE'})`,
    );
  }
  const useFile = file !== undefined && existsSync(file);
  if (profileName !== undefined && !useFile) {
    throw new ConfigError(`profile ${profileName} asked for, but there is no Temporal config file (${where})`);
  }
  try {
    const settings = loadClientConfigProfile({
      ...(profileName !== undefined ? { profile: profileName } : {}),
      ...(useFile ? { configSource: { path: file } } : { disableFile: true }),
      configFileStrict: true,
      // Explicit values win over the environment: the variables they replace are not handed on.
      overrideEnvVars: Object.fromEntries(
        Object.entries(vars).filter(
          ([k]) =>
            !(k === 'TEMPORAL_ADDRESS' && overrides.address !== undefined) &&
            !(k === 'TEMPORAL_NAMESPACE' && overrides.namespace !== undefined),
        ),
      ),
    });
    return { settings, describe };
  } catch (err) {
    throw new ConfigError(`${describe} is invalid: ${(err as Error).message}`);
  }
}

/** Where Temporal's tools look for `temporal.toml` when `TEMPORAL_CONFIG_FILE` is unset (as `@temporalio/envconfig`). */
function defaultConfigFile(vars: Record<string, string>): string | undefined {
  if (process.platform === 'win32')
    return vars['APPDATA'] !== undefined ? join(vars['APPDATA'], 'temporalio', 'temporal.toml') : undefined;
  if (process.platform === 'darwin') {
    return vars['HOME'] !== undefined
      ? join(vars['HOME'], 'Library', 'Application Support', 'temporalio', 'temporal.toml')
      : undefined;
  }
  const xdg = vars['XDG_CONFIG_HOME'];
  if (xdg !== undefined) return isAbsolute(xdg) ? join(xdg, 'temporalio', 'temporal.toml') : undefined;
  return vars['HOME'] !== undefined ? join(vars['HOME'], '.config', 'temporalio', 'temporal.toml') : undefined;
}

const count = (max: number) => z.coerce.number().int().min(0).max(max).optional();

const WorkerEnvSchema = z.object({
  HITL_MAX_CACHED_WORKFLOWS: count(1_000_000),
  HITL_MAX_ACTIVITY_SLOTS: count(100_000).pipe(z.number().min(1).optional()),
  HITL_MAX_WORKFLOW_TASK_SLOTS: count(100_000).pipe(z.number().min(2).optional()),
  HITL_SHUTDOWN_GRACE_MS: count(3_600_000),
  HITL_STICKY_TIMEOUT_MS: count(600_000).pipe(z.number().min(100).optional()),
  HITL_WORKFLOW_THREADS: count(16).pipe(z.number().min(1).optional()),
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
  /**
   * How long a run's next workflow task waits on this worker's sticky queue before any worker may take it (ms). After
   * a worker dies, its runs move on once this passes; under a burst, a task that waits longer is replayed elsewhere
   * from its history. Absent: the SDK's 10 s.
   */
  stickyQueueScheduleToStartTimeout?: number;
  /**
   * Threads that run workflow code (1 to 16). A run stays on the thread that first took it until it is evicted. One
   * thread uses one core at most, which is what bounds decisions per second across runs out of the cache; a second
   * thread lets a worker with a core to spare use it. Absent: the SDK's 1 (with its reused V8 context).
   */
  workflowThreadPoolSize?: number;
}

/**
 * Reads the worker settings: explicit values, then `HITL_MAX_CACHED_WORKFLOWS`, `HITL_MAX_ACTIVITY_SLOTS`,
 * `HITL_MAX_WORKFLOW_TASK_SLOTS`, `HITL_SHUTDOWN_GRACE_MS`, `HITL_STICKY_TIMEOUT_MS` and `HITL_WORKFLOW_THREADS`, then
 * defaults (the SDK's, and {@link DEFAULT_SHUTDOWN_GRACE_MS}). docs/operations.md ("Many waiting runs") says how to
 * size them, with measured figures.
 * @param overrides - explicit values
 * @param env - the environment to read (default `process.env`)
 * @returns options for `Worker.create` (absent keys leave the SDK's defaults)
 * @throws ConfigError when a variable is not a whole number in its range (slots: activity at least 1, workflow task
 *   at least 2; grace at most an hour; sticky timeout 100 ms to 10 minutes; workflow threads 1 to 16)
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
    HITL_STICKY_TIMEOUT_MS: read('HITL_STICKY_TIMEOUT_MS'),
    HITL_WORKFLOW_THREADS: read('HITL_WORKFLOW_THREADS'),
  });
  if (!parsed.success) throw new ConfigError(`bad worker settings: ${formatZodError(parsed.error)}`);
  const d = parsed.data;
  const cache = overrides.maxCachedWorkflows ?? d.HITL_MAX_CACHED_WORKFLOWS;
  const activities = overrides.maxConcurrentActivityTaskExecutions ?? d.HITL_MAX_ACTIVITY_SLOTS;
  const workflowTasks = overrides.maxConcurrentWorkflowTaskExecutions ?? d.HITL_MAX_WORKFLOW_TASK_SLOTS;
  const sticky = overrides.stickyQueueScheduleToStartTimeout ?? d.HITL_STICKY_TIMEOUT_MS;
  const threads = overrides.workflowThreadPoolSize ?? d.HITL_WORKFLOW_THREADS;
  return {
    ...(cache !== undefined ? { maxCachedWorkflows: cache } : {}),
    ...(activities !== undefined ? { maxConcurrentActivityTaskExecutions: activities } : {}),
    ...(workflowTasks !== undefined ? { maxConcurrentWorkflowTaskExecutions: workflowTasks } : {}),
    ...(sticky !== undefined ? { stickyQueueScheduleToStartTimeout: sticky } : {}),
    ...(threads !== undefined ? { workflowThreadPoolSize: threads } : {}),
    shutdownGraceTime: overrides.shutdownGraceTime ?? d.HITL_SHUTDOWN_GRACE_MS ?? DEFAULT_SHUTDOWN_GRACE_MS,
  };
}
