import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger } from 'pino';

/** Fields every log line carries while an activity runs (set by the worker's activity interceptor). */
export interface LogContext {
  workflowId?: string;
  runId?: string;
  activityType?: string;
  activityId?: string;
  attempt?: number;
  /** The approval request the activity is about (notifications). */
  requestId?: string;
  /** The tool the activity runs or checks. */
  tool?: string;
  /** The trace the activity's span belongs to, when the worker exports traces. */
  traceId?: string;
}

/** The log context of the current async flow; the logger adds it to each line. */
export const logContext = new AsyncLocalStorage<LogContext>();

/**
 * Runs `fn` with `fields` added to every line logged inside it (on top of an enclosing context).
 * @param fields - the fields
 * @param fn - the function
 * @returns what `fn` returns
 */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return logContext.run({ ...logContext.getStore(), ...fields }, fn);
}

/**
 * The process logger (pino, JSON lines on stderr). Level from `HITL_LOG_LEVEL` (default `info`). Lines logged while
 * an activity runs carry its workflow id, run id, activity type (and request id, tool, trace id where known).
 * Everything outside the CLI's own output logs through this.
 */
export const logger: Logger = pino(
  {
    name: 'hitl-agent',
    level: process.env['HITL_LOG_LEVEL'] ?? 'info',
    mixin: () => logContext.getStore() ?? {},
  },
  pino.destination(2),
);
