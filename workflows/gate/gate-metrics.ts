import { metricMeter } from '@temporalio/workflow';
import type { ApprovalRequest } from '../../src/shared/run-state';
import type { Closure } from './closure';
import { METRIC } from '../../src/shared/metric-names';

// The gate's metrics, through the SDK's workflow metric meter: they leave the worker by its Prometheus endpoint
// (HITL_METRICS_PORT) and are dropped when it has none. Emitting a metric adds no command, so a run's history is the
// same with or without these lines and they need no patched() guard; the meter skips replays, so a run that is
// replayed (after a cache eviction, on another worker) does not count its requests twice. Names and tags are listed
// in docs/operations.md; keep them in step with deploy/grafana-dashboard.json.

/** Counts a request that opened (a soft or hard gate stopped a call). */
export function countOpened(request: ApprovalRequest): void {
  metricMeter
    .createCounter(METRIC.requestsOpened, 'requests', 'approval requests opened, by tool and gate')
    .add(1, { tool: request.tool, gate: request.gate });
}

/** Counts a request's escalation to its next stage. */
export function countEscalated(request: ApprovalRequest): void {
  metricMeter
    .createCounter(METRIC.requestsEscalated, 'requests', 'approval requests escalated to their next stage')
    .add(1, { tool: request.tool, gate: request.gate });
}

/**
 * Counts how a request closed (decisions by kind, expiries) and, unless a stop closed it, how long it waited from
 * its opening to its closure (ms, workflow time).
 */
export function countClosed(request: ApprovalRequest, closure: Closure): void {
  const tags = { tool: request.tool, gate: request.gate, outcome: closure.kind };
  metricMeter
    .createCounter(METRIC.requestsClosed, 'requests', 'approval requests closed, by outcome (decision kind)')
    .add(1, tags);
  if (closure.kind === 'expired' || closure.kind === 'proceeded') {
    metricMeter
      .createCounter(METRIC.requestsExpired, 'requests', 'approval requests whose deadline passed undecided')
      .add(1, tags);
  }
  const waited = Date.parse(closure.at) - Date.parse(request.requestedAt);
  if (closure.kind !== 'stopped' && Number.isFinite(waited) && waited >= 0) {
    metricMeter
      .createHistogram(METRIC.decisionTime, 'int', 'ms', 'time from a request opening to its closure')
      .record(waited, tags);
  }
}
