import type { LogLevel } from '@temporalio/common';
import {
  DefaultLogger,
  makeTelemetryFilterString,
  Runtime,
  type NativeConnection,
  type RuntimeOptions,
} from '@temporalio/worker';
import { z } from 'zod';
import { ConfigError } from '../../shared/errors';
import { formatZodError } from '../../shared/zod-format';
import { logger } from '../logger';
import { METRIC } from '../../shared/metric-names';

const TelemetryEnvSchema = z.object({
  HITL_METRICS_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  HITL_METRICS_HOST: z.string().trim().min(1).default('127.0.0.1'),
  HITL_METRICS_POLL_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(15_000),
  HITL_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

/** What the worker process exports besides its work: a Prometheus endpoint, and its log level. */
export interface TelemetrySettings {
  /**
   * Serve Prometheus metrics on `http://host:port/metrics`; absent: no metrics endpoint. `pollMs`: how often the
   * run gauges (`hitl_runs_waiting`, `hitl_runs_paused`) are counted.
   */
  metrics?: { host: string; port: number; pollMs: number };
  /** The logger's level, which the SDK's own lines follow too. */
  logLevel: z.infer<typeof TelemetryEnvSchema>['HITL_LOG_LEVEL'];
}

/**
 * Reads the telemetry settings: explicit values, then `HITL_METRICS_PORT` (no endpoint when unset),
 * `HITL_METRICS_HOST` (default `127.0.0.1`; `0.0.0.0` to be scraped from another host or container),
 * `HITL_METRICS_POLL_MS` (default 15 000, at least 1 000) and `HITL_LOG_LEVEL` (default `info`).
 * @param overrides - explicit values
 * @param env - the environment to read (default `process.env`)
 * @returns the settings
 * @throws ConfigError when the port is not a whole number from 1 to 65535, the poll interval is out of range, or the
 *   level is not a pino level
 */
export function telemetrySettings(
  overrides: Partial<TelemetrySettings> = {},
  env: NodeJS.ProcessEnv = process.env,
): TelemetrySettings {
  const pick = (name: string): string | undefined => {
    const raw = env[name]?.trim();
    return raw === '' ? undefined : raw;
  };
  const parsed = TelemetryEnvSchema.safeParse({
    HITL_METRICS_PORT: pick('HITL_METRICS_PORT'),
    HITL_METRICS_HOST: pick('HITL_METRICS_HOST'),
    HITL_METRICS_POLL_MS: pick('HITL_METRICS_POLL_MS'),
    HITL_LOG_LEVEL: pick('HITL_LOG_LEVEL'),
  });
  if (!parsed.success) throw new ConfigError(`bad telemetry settings: ${formatZodError(parsed.error)}`);
  const d = parsed.data;
  const metrics: TelemetrySettings['metrics'] =
    overrides.metrics ??
    (d.HITL_METRICS_PORT !== undefined
      ? { host: d.HITL_METRICS_HOST, port: d.HITL_METRICS_PORT, pollMs: d.HITL_METRICS_POLL_MS }
      : undefined);
  return { ...(metrics !== undefined ? { metrics } : {}), logLevel: overrides.logLevel ?? d.HITL_LOG_LEVEL };
}

const SDK_LEVEL: Record<TelemetrySettings['logLevel'], LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

/**
 * Bucket bounds of `hitl_decision_time` (ms): people decide in seconds to days, far beyond the SDK's default buckets
 * (made for task latencies).
 */
export const DECISION_TIME_BUCKETS_MS = [
  1_000, 10_000, 60_000, 300_000, 900_000, 3_600_000, 14_400_000, 86_400_000, 259_200_000,
];

/**
 * The runtime options of a worker process: the SDK's log lines (its TypeScript side and its core) go through the
 * project's logger at the logger's level, their fields renamed to the project's (`runId`); with a metrics port, the
 * runtime serves the SDK's metrics and the project's own (from workflows and activities) in Prometheus format.
 * @param settings - from {@link telemetrySettings}
 * @returns options for `Runtime.install`
 */
export function runtimeOptions(settings: TelemetrySettings): RuntimeOptions {
  const level = SDK_LEVEL[settings.logLevel];
  return {
    logger: new DefaultLogger(level, (entry) => {
      // Activity lines name the run `workflowRunId`, workflow lines `runId`: one name here. The task token is noise.
      const rest: Record<string, unknown> = { ...entry.meta };
      const runId: unknown = rest['workflowRunId'];
      delete rest['workflowRunId'];
      delete rest['taskToken'];
      const meta = { ...rest, ...(runId !== undefined ? { runId } : {}), sdk: true };
      if (entry.level === 'ERROR') logger.error(meta, entry.message);
      else if (entry.level === 'WARN') logger.warn(meta, entry.message);
      else if (entry.level === 'INFO') logger.info(meta, entry.message);
      else if (entry.level === 'DEBUG') logger.debug(meta, entry.message);
      else logger.trace(meta, entry.message);
    }),
    telemetryOptions: {
      // The core's own messages (its Rust side) at the same level, through the same logger.
      logging: {
        forward: {},
        filter: makeTelemetryFilterString({ core: level, other: level === 'TRACE' ? 'DEBUG' : level }),
      },
      ...(settings.metrics !== undefined
        ? {
            metrics: {
              prometheus: {
                bindAddress: `${settings.metrics.host}:${settings.metrics.port}`,
                histogramBucketOverrides: { [METRIC.decisionTime]: DECISION_TIME_BUCKETS_MS },
              },
            },
          }
        : {}),
    },
  };
}

/**
 * Installs the SDK runtime of a worker process with {@link runtimeOptions}. Call it once, before any connection.
 * @param settings - from {@link telemetrySettings}
 * @returns the runtime
 * @throws Error from the SDK when the runtime is installed already or the metrics address cannot be bound
 */
export function installRuntime(settings: TelemetrySettings): Runtime {
  return Runtime.install(runtimeOptions(settings));
}

/**
 * Keeps the gauges `hitl_runs_waiting` (runs with an open approval request) and `hitl_runs_paused` (runs waiting for
 * a person after a failure) up to date: every `intervalMs` it counts the task queue's running runs by their
 * `AgentStatus` search attribute. Counting the server's view, not the worker's events, keeps the gauge right when
 * workers die or several serve the queue (each reports the same value: aggregate with `max`).
 * @param options - connection, namespace, task queue, and the interval (ms, default 15 000)
 * @returns a function that stops it
 */
export function watchRunsWaiting(options: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  intervalMs?: number;
}): () => void {
  const meter = Runtime.instance().metricMeter;
  const waiting = meter.createGauge(METRIC.runsWaiting, 'int', 'runs', 'runs with an open approval request');
  const paused = meter.createGauge(METRIC.runsPaused, 'int', 'runs', 'runs paused for a person after a failure');
  const queue = options.taskQueue.replaceAll("'", "\\'");
  const count = async (status: string): Promise<number> => {
    const { count: n } = await options.connection.workflowService.countWorkflowExecutions({
      namespace: options.namespace,
      query: `TaskQueue = '${queue}' AND ExecutionStatus = 'Running' AND AgentStatus = '${status}'`,
    });
    return Number(n ?? 0);
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async (): Promise<void> => {
    try {
      // `taskQueue`, as the SDK tags the metrics that workflows emit (its own core metrics say `task_queue`).
      const tags = { taskQueue: options.taskQueue };
      const [w, p] = await Promise.all([count('AwaitingApproval'), count('Paused')]);
      waiting.set(w, tags);
      paused.set(p, tags);
    } catch (err) {
      logger.warn({ err }, 'cannot count waiting runs (the gauges keep their last values)');
    }
    if (!stopped) timer = setTimeout(() => void tick(), options.intervalMs ?? 15_000).unref();
  };
  void tick();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  };
}
