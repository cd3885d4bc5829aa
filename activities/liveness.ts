import type { Context } from '@temporalio/activity';
import type { ActivityInterceptors } from '@temporalio/worker';

/** The shortest gap between liveness heartbeats, in ms, whatever the heartbeat timeout. */
const MIN_BEAT_MS = 200;

/**
 * An activity interceptor factory (for `Worker.create({ interceptors: { activity: [...] } })`) that heartbeats every
 * activity scheduled with a heartbeat timeout, a third of that timeout apart, from its start until it settles.
 *
 * The heartbeat says only that the worker process running the activity is alive, which is what the timeout is for: a
 * worker that is SIGKILLed (or loses its connection) stops heartbeating, so the server times the attempt out after
 * the heartbeat timeout and retries it on another worker, instead of waiting out the whole start-to-close timeout.
 * The retry carries the same idempotency key, so the tool's ledger keeps the effect exactly once. An activity with no
 * heartbeat timeout is left alone (it would gain nothing and pay the calls). The SDK throttles what reaches the
 * server to at most one heartbeat per 80% of the timeout.
 *
 * Idea: Temporal's guidance to heartbeat long-running activities so that worker failures are detected quickly
 * (docs.temporal.io, "Activity heartbeats").
 *
 * @param ctx - the activity's context (the SDK passes it)
 * @returns the inbound interceptor
 */
export function livenessHeartbeats(ctx: Context): ActivityInterceptors {
  return {
    inbound: {
      async execute(input, next) {
        const timeoutMs = ctx.info.heartbeatTimeoutMs;
        if (timeoutMs === undefined || timeoutMs <= 0) return next(input);
        ctx.heartbeat();
        const timer = setInterval(() => ctx.heartbeat(), Math.max(MIN_BEAT_MS, Math.floor(timeoutMs / 3)));
        try {
          return await next(input);
        } finally {
          clearInterval(timer);
        }
      },
    },
  };
}
