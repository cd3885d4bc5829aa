import { trace } from '@opentelemetry/api';
import type { Context as ActivityContext } from '@temporalio/activity';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Notification, NotificationReceipt } from '../../shared/activity-types';
import type { PrecheckInput, PrecheckResult, ToolActivityInput } from '../../shared/tools/types';
import { toolCatalog } from '../../shared/tools/catalog';
import { withLogContext, type LogContext } from '../logger';
import { METRIC } from '../../shared/metric-names';

/** Span attribute names the worker adds to activity spans (besides Temporal's own). */
export const SPAN_ATTRIBUTES = {
  requestId: 'hitl.request_id',
  tool: 'hitl.tool',
  gate: 'hitl.gate',
  notificationKind: 'hitl.notification_kind',
  idempotencyKey: 'hitl.idempotency_key',
} as const;

const toolOfPrecheck = new Map(
  [...toolCatalog.values()].flatMap((t) => (t.precheck !== undefined ? [[t.precheck, t.name] as const] : [])),
);

/** What an activity's input says about the request, tool and gate it concerns (whatever is known). */
interface Subject {
  requestId?: string;
  tool?: string;
  gate?: string;
  notificationKind?: string;
  idempotencyKey?: string;
}

function subjectOf(activityType: string, args: readonly unknown[]): Subject {
  const first = args[0];
  if (typeof first !== 'object' || first === null) return {};
  if (activityType === 'notify') {
    const n = first as Partial<Notification>;
    return {
      ...(typeof n.requestId === 'string' ? { requestId: n.requestId } : {}),
      ...(typeof n.kind === 'string' ? { notificationKind: n.kind } : {}),
      ...(typeof n.request?.tool === 'string' ? { tool: n.request.tool } : {}),
      ...(typeof n.request?.gate === 'string' ? { gate: n.request.gate } : {}),
    };
  }
  const checked = toolOfPrecheck.get(activityType as never);
  if (checked !== undefined) {
    const key = (first as Partial<PrecheckInput>).idempotencyKey;
    return { tool: checked, ...(typeof key === 'string' ? { idempotencyKey: key } : {}) };
  }
  if (toolCatalog.has(activityType)) {
    const key = (first as Partial<ToolActivityInput>).idempotencyKey;
    return { tool: activityType, ...(typeof key === 'string' ? { idempotencyKey: key } : {}) };
  }
  return {};
}

/**
 * Counts what an activity's result says operators should see: a precheck that refused a call after its wait (one
 * with an idempotency key; the check when a request opens only describes the effect), and each notification channel
 * that failed. Through the activity's metric meter, so they leave by the same Prometheus endpoint as the SDK's.
 */
function countResult(ctx: ActivityContext, activityType: string, subject: Subject, result: unknown): void {
  if (toolOfPrecheck.has(activityType as never) && subject.idempotencyKey !== undefined) {
    const r = result as PrecheckResult | undefined;
    if (r?.ok === false) {
      ctx.metricMeter
        .createCounter(METRIC.precheckRefusals, 'calls', 'calls a precheck refused after their wait')
        .add(1, { tool: subject.tool ?? activityType, changed: String(r.changed === true) });
    }
  }
  if (activityType === 'notify') {
    const failed = (result as NotificationReceipt | undefined)?.deliveries.filter((d) => !d.ok) ?? [];
    for (const d of failed) {
      ctx.metricMeter
        .createCounter(METRIC.notificationFailures, 'deliveries', 'notifications a channel failed to deliver')
        .add(1, { channel_type: d.type, kind: subject.notificationKind ?? 'unknown' });
    }
  }
}

/**
 * The worker's own activity interceptor: every line the activity logs carries its workflow id, run id, activity type
 * (and the request id, tool and trace id where known); the activity's span (when traces are exported) gets the
 * request id, tool and gate as attributes; precheck refusals and notification failures are counted.
 * List it after Temporal's OpenTelemetry interceptor, so the activity span is active when it runs.
 */
export const activityTelemetry: ActivityInterceptorsFactory = (ctx) => {
  const inbound: ActivityInboundCallsInterceptor = {
    async execute(input, next) {
      const { info } = ctx;
      const subject = subjectOf(info.activityType, input.args);
      const span = trace.getActiveSpan();
      if (span !== undefined) {
        for (const [field, name] of Object.entries(SPAN_ATTRIBUTES)) {
          const value = subject[field as keyof Subject];
          if (value !== undefined) span.setAttribute(name, value);
        }
      }
      const fields: LogContext = {
        ...(info.workflowExecution !== undefined
          ? { workflowId: info.workflowExecution.workflowId, runId: info.workflowExecution.runId }
          : {}),
        activityType: info.activityType,
        activityId: info.activityId,
        attempt: info.attempt,
        ...(subject.requestId !== undefined ? { requestId: subject.requestId } : {}),
        ...(subject.tool !== undefined ? { tool: subject.tool } : {}),
        ...(span !== undefined ? { traceId: span.spanContext().traceId } : {}),
      };
      return withLogContext(fields, async () => {
        const result = await next(input);
        countResult(ctx, info.activityType, subject, result);
        return result;
      });
    },
  };
  return { inbound };
};
