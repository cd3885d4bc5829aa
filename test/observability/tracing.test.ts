import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { startAgentRun } from '../../client';
import { SPAN_ATTRIBUTES } from '../../src/node/telemetry/activity-telemetry';
import { startTracing, tracingRequested, type Tracing } from '../../src/node/telemetry/tracing';
import { ConfigError } from '../../src/shared/errors';
import { approveAs } from '../support/decisions';
import { waitFor } from '../support/env';
import { answer, call, withWorker } from '../support/harness';
import { testKey } from '../support/keys';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver';

describe('traces', () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing;

  before(async () => {
    receiver = await OtlpReceiver.start();
    const started = startTracing({ exporter: new OTLPTraceExporter({ url: receiver.tracesUrl }) });
    assert.ok(started);
    tracing = started;
  });

  after(async () => {
    await tracing.shutdown();
    await receiver.close();
  });

  it('exports traces only when the OTEL_* variables name an OTLP endpoint, and refuses a protocol it cannot speak', () => {
    assert.equal(tracingRequested({}), false);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), true);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }), true);
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    assert.equal(tracingRequested({ ...on, OTEL_TRACES_EXPORTER: 'none' }), false);
    assert.equal(tracingRequested({ ...on, OTEL_SDK_DISABLED: 'true' }), false);
    assert.throws(
      () => tracingRequested({ ...on, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
      (err: unknown) => err instanceof ConfigError && err.message.includes('OTEL_EXPORTER_OTLP_PROTOCOL'),
    );
    assert.throws(() => tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }), ConfigError);
  });

  it('links a gated run in one trace: client start, run, model, precheck, notification and tool, with request, tool and gate', async () => {
    await withWorker(async (h) => {
      const client = new Client({
        connection: h.client.connection,
        namespace: h.client.options.namespace,
        interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
      });
      const refund = { invoiceId: 1, amountCents: 500, reason: 'charged twice' };
      const turns = [call('issue_refund', refund), answer('refunded')];
      const { workflowId, handle } = await startAgentRun(
        client,
        {
          goal: 'trace a refund',
          requestedBy: 'tester',
          model: { provider: 'scripted', scenario: { goal: 'g', turns } },
        },
        { taskQueue: h.taskQueue, key: testKey('tester') },
      );
      const [req] = await h.pending(workflowId);
      assert.ok(req);
      await approveAs(h.client, workflowId, req, 'alice');
      await handle.result();

      // The run's span leaves the workflow when the run ends (through the worker's sink): wait for it.
      const ofRun = (): ReceivedSpan[] => {
        const root = receiver.spans.find((s) => s.attributes['temporalWorkflowId'] === workflowId);
        return root === undefined ? [] : receiver.spans.filter((s) => s.traceId === root.traceId);
      };
      const spans = await waitFor(async () => {
        await tracing.processor.forceFlush();
        const found = ofRun();
        return found.some((s) => s.name === 'RunWorkflow:agentRun') ? found : undefined;
      }, 'the spans of the run');

      const named = (name: string): ReceivedSpan[] => spans.filter((s) => s.name === name);
      const [start] = named('StartWorkflow:agentRun');
      const [run] = named('RunWorkflow:agentRun');
      assert.ok(spans.length >= 6, spans.map((s) => `${s.name} ${s.spanId} < ${s.parentSpanId}`).join('; '));
      assert.ok(start, 'the client start is in the trace');
      assert.ok(run);
      assert.equal(start.parentSpanId, undefined, 'the client start is the root');
      assert.equal(run.parentSpanId, start.spanId, 'the run is a child of the client start');
      assert.equal(new Set(spans.map((s) => s.traceId)).size, 1);

      for (const activity of ['callModel', 'precheck_issue_refund', 'notify', 'issue_refund']) {
        const found = named(`RunActivity:${activity}`);
        assert.ok(found.length > 0, `a span of ${activity}`);
        for (const s of found) assert.equal(s.parentSpanId, run.spanId, `${activity} is a child of the run`);
      }
      const opened = named('RunActivity:notify').find(
        (s) => s.attributes[SPAN_ATTRIBUTES.notificationKind] === 'approval_requested',
      );
      assert.ok(opened, 'the approval request notification has a span');
      assert.equal(opened.attributes[SPAN_ATTRIBUTES.requestId], req.requestId);
      assert.equal(opened.attributes[SPAN_ATTRIBUTES.tool], 'issue_refund');
      assert.equal(opened.attributes[SPAN_ATTRIBUTES.gate], 'hard');
      const [tool] = named('RunActivity:issue_refund');
      assert.equal(tool?.attributes[SPAN_ATTRIBUTES.tool], 'issue_refund');
      assert.match(String(tool?.attributes[SPAN_ATTRIBUTES.idempotencyKey]), new RegExp(`^${workflowId}:`));
      const prechecked = named('RunActivity:precheck_issue_refund').map((s) => s.attributes[SPAN_ATTRIBUTES.tool]);
      assert.ok(prechecked.every((t) => t === 'issue_refund'));
      assert.ok(
        spans.every((s) => s.service === 'hitl-agent'),
        'spans carry the service name',
      );
    });
  });
});
