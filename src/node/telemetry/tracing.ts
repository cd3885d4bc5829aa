import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { envDetectorSync, Resource } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  NoopSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks } from '@temporalio/worker';
import type { OpenTelemetryWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { z } from 'zod';
import { ConfigError } from '../../shared/errors';
import { formatZodError } from '../../shared/zod-format';
import { AsyncLocalContextManager } from './context-manager';

/** The service name spans carry when `OTEL_SERVICE_NAME` (or `service.name` in `OTEL_RESOURCE_ATTRIBUTES`) is unset. */
export const DEFAULT_SERVICE_NAME = 'hitl-agent';

const TracingEnvSchema = z.object({
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).optional(),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none']).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.literal('http/json').optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.literal('http/json').optional(),
});

/**
 * Whether the standard `OTEL_*` variables ask for traces: an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), and neither `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`.
 * The exporter itself reads the rest (headers, timeout, `OTEL_BSP_*` batching).
 * @param env - the environment to read (default `process.env`)
 * @returns true when traces are to be exported
 * @throws ConfigError when a variable is malformed, or names a protocol other than `http/json` (the only one this
 *   worker's exporter speaks)
 */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  const pick = (name: string): string | undefined => {
    const raw = env[name]?.trim();
    return raw === '' ? undefined : raw;
  };
  const parsed = TracingEnvSchema.safeParse(
    Object.fromEntries(Object.keys(TracingEnvSchema.shape).map((k) => [k, pick(k)])),
  );
  if (!parsed.success) throw new ConfigError(`bad OpenTelemetry settings: ${formatZodError(parsed.error)}`);
  const d = parsed.data;
  if (d.OTEL_SDK_DISABLED === 'true' || d.OTEL_TRACES_EXPORTER === 'none') return false;
  return d.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || d.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined;
}

/** Tracing as the process runs it: what the worker's interceptors and its workflow span sink need. */
export interface Tracing {
  readonly resource: Resource;
  /** Where finished spans go (workflow spans come through the worker's `exporter` sink). */
  readonly processor: SpanProcessor;
  /** Exports what is buffered, then stops; the global tracer, propagator and context manager are reset. */
  shutdown(): Promise<void>;
}

let current: Tracing | undefined;

/**
 * Starts tracing for this process, once: a tracer provider that batches spans to `exporter` (default: OTLP over HTTP
 * with JSON bodies, configured by the `OTEL_EXPORTER_OTLP_*` variables), W3C trace-context propagation (how the
 * client's span reaches the workflow and the workflow's reach the activities, through Temporal headers), and a
 * context manager so activity spans parent what runs inside them.
 *
 * @param options - `exporter`: where spans go (tests); `env`: the environment to read (default `process.env`)
 * @returns the process's tracing; `undefined` when the variables do not ask for traces and no exporter is given
 * @throws ConfigError as {@link tracingRequested}
 */
export function startTracing(options: { exporter?: SpanExporter; env?: NodeJS.ProcessEnv } = {}): Tracing | undefined {
  if (current !== undefined) return current;
  const env = options.env ?? process.env;
  if (options.exporter === undefined && !tracingRequested(env)) return undefined;
  const resource = new Resource({ [ATTR_SERVICE_NAME]: DEFAULT_SERVICE_NAME }).merge(envDetectorSync.detect());
  const processor = new BatchSpanProcessor(options.exporter ?? new OTLPTraceExporter());
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  provider.register({ propagator: new W3CTraceContextPropagator(), contextManager: new AsyncLocalContextManager() });
  const tracing: Tracing = {
    resource,
    processor,
    async shutdown() {
      if (current === tracing) current = undefined;
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
  current = tracing;
  return tracing;
}

/** @returns the tracing {@link startTracing} started in this process, if any */
export function currentTracing(): Tracing | undefined {
  return current;
}

/**
 * The worker's `exporter` sink, which the workflow interceptors (in every bundle, see `workflows/telemetry.ts`) hand
 * their spans to. Without tracing the sink drops them, so a worker runs the same bundle with tracing on or off.
 * @param tracing - the process's tracing, if any
 * @returns sinks for `Worker.create`
 */
export function workflowSpanSinks(
  tracing: Tracing | undefined,
): InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }> {
  const processor = tracing?.processor ?? new NoopSpanProcessor();
  const resource = tracing?.resource ?? Resource.empty();
  return { exporter: makeWorkflowExporter(processor, resource) };
}
