// The workflow side of OpenTelemetry tracing, bundled with the workflows (the worker's `workflowInterceptorModules`):
// a span around the run, and the trace carried to the activities it schedules in Temporal headers (their spans, made
// by the worker, are the run span's children). Spans leave the sandbox through the worker's `exporter` sink, which drops them when the worker exports no
// traces.
//
// Why not Temporal's interceptors as they are: their sandbox tracer draws span and trace ids from Math.random, which in
// a workflow is the run's seeded generator, the one uuid4() draws from too; and on runs whose history records no SDK
// flags they add yields. Either changes what recorded runs do on replay (the replay test failed on 28 recorded
// histories). These interceptors use Temporal's span helpers and sink with a tracer whose ids come from the run id
// and a count (the same on every replay, never from Math.random), add no yields, make no span around scheduling an
// activity (it would delay the result), and leave signals, updates and queries untraced. They add no command and change no order: test/replay.test.ts replays every recorded history with
// them in the bundle.
// First: OpenTelemetry's browser build expects `performance` and `window`; Temporal's module defines them in the sandbox.
import '@temporalio/interceptors-opentelemetry/lib/workflow/runtime';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, SimpleSpanProcessor, type IdGenerator } from '@opentelemetry/sdk-trace-base';
import {
  extractContextFromHeaders,
  headersWithContext,
  instrument,
} from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
import { ContextManager } from '@temporalio/interceptors-opentelemetry/lib/workflow/context-manager';
import { SpanExporter } from '@temporalio/interceptors-opentelemetry/lib/workflow/span-exporter';
import {
  ContinueAsNew,
  workflowInfo,
  type ActivityInput,
  type DisposeInput,
  type Next,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
  type WorkflowInternalsInterceptor,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

/** Spans made so far per run in this sandbox (runs may share it); forgotten when the run leaves. */
const spansMade = new Map<string, number>();

/** 32-bit FNV-1a of `text` from `seed`, as 8 hex digits. */
function fnv(text: string, seed: number): string {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Ids from the run id and a count: unique per run and span, the same on every replay, no Math.random. */
class RunIdGenerator implements IdGenerator {
  #next(words: number): string {
    const runId = workflowInfo().runId;
    const n = (spansMade.get(runId) ?? 0) + 1;
    spansMade.set(runId, n);
    let id = '';
    for (let w = 0; w < words; w += 1) id += fnv(`${runId}:${n}`, 0x811c9dc5 + w * 0x9e3779b9);
    return /^0+$/.test(id) ? `${id.slice(1)}1` : id;
  }

  generateTraceId(): string {
    return this.#next(4);
  }

  generateSpanId(): string {
    return this.#next(2);
  }
}

const provider = new BasicTracerProvider({
  idGenerator: new RunIdGenerator(),
  spanProcessors: [new SimpleSpanProcessor(new SpanExporter())],
});
// The sandbox has its own OpenTelemetry globals: a context manager (parents follow awaits) and a propagator (the
// client's trace context comes in the start headers, and goes out in each activity's headers).
provider.register({ contextManager: new ContextManager(), propagator: new W3CTraceContextPropagator() });
const tracer = provider.getTracer('hitl-agent-workflow');

/** A span around the run (`RunWorkflow:agentRun`), child of the client's `StartWorkflow` span. */
class RunSpan implements WorkflowInboundCallsInterceptor {
  execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    return instrument({
      tracer,
      spanName: `RunWorkflow:${workflowInfo().workflowType}`,
      fn: (span) => {
        // Temporal's names for them, as on its activity spans.
        span.setAttribute('temporalWorkflowId', workflowInfo().workflowId);
        span.setAttribute('run_id', workflowInfo().runId);
        return next(input);
      },
      context: extractContextFromHeaders(input.headers),
      acceptableErrors: (err) => err instanceof ContinueAsNew,
    });
  }
}

/**
 * Puts the run's trace context in the headers of each activity it schedules, so the activity's span is a child of
 * the run's. No span of its own here: wrapping the call in one delays its result by a few microtasks, and runs with
 * parallel calls then resume in another order on replay (seen on recorded histories).
 */
class ActivityHeaders implements WorkflowOutboundCallsInterceptor {
  scheduleActivity(
    input: ActivityInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>,
  ): Promise<unknown> {
    return next({ ...input, headers: headersWithContext(input.headers) });
  }
}

/** Forgets a run's span count when the run leaves the sandbox. */
class ForgetRun implements WorkflowInternalsInterceptor {
  dispose(input: DisposeInput, next: Next<WorkflowInternalsInterceptor, 'dispose'>): void {
    spansMade.delete(workflowInfo().runId);
    next(input);
  }
}

/** The interceptors of every run. */
export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [new RunSpan()],
  outbound: [new ActivityHeaders()],
  internals: [new ForgetRun()],
});
