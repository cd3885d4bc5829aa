/**
 * The project's own metrics, as the worker's Prometheus endpoint names them (units in docs/operations.md). Workflow
 * code emits the request metrics, the activity interceptor the refusal and failure counters, the worker the gauges.
 * A counter or histogram appears in a scrape after its first event.
 */
export const METRIC = {
  /** Counter, requests, tags `tool`, `gate`. */
  requestsOpened: 'hitl_requests_opened',
  /** Counter, requests, tags `tool`, `gate`, `outcome` (approved, rejected, responded, expired, proceeded, stopped). */
  requestsClosed: 'hitl_requests_closed',
  /** Counter, requests whose deadline passed undecided, tags `tool`, `gate`, `outcome` (expired, proceeded). */
  requestsExpired: 'hitl_requests_expired',
  /** Counter, escalations to a request's next stage, tags `tool`, `gate`. */
  requestsEscalated: 'hitl_requests_escalated',
  /** Histogram, ms from a request opening to its closure, tags `tool`, `gate`, `outcome`. */
  decisionTime: 'hitl_decision_time',
  /** Counter, calls a precheck refused after their wait, tags `tool`, `changed`. */
  precheckRefusals: 'hitl_precheck_refusals',
  /** Counter, failed deliveries, tags `channel_type`, `kind`. */
  notificationFailures: 'hitl_notification_failures',
  /** Gauge, runs with an open approval request, tag `taskQueue`. */
  runsWaiting: 'hitl_runs_waiting',
  /** Gauge, runs paused for a person after a failure, tag `taskQueue`. */
  runsPaused: 'hitl_runs_paused',
} as const;
