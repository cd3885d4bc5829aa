import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  proxyActivities,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { ToolActivities } from '../src/shared/activity-types';
import { FailureType } from '../src/shared/errors';
import { argsHash } from '../src/shared/hash';
import type { ToolResultContent } from '../src/shared/model/tool-result';
import type { OutcomeCounts, ToolOutcome } from '../src/shared/run-state';
import type { PrecheckInput, PrecheckResult, ToolDefinition } from '../src/shared/tools/types';
import type { AuditLog } from './audit-log';
import type { PauseOutcome } from './pauses';

/** Failure types that are the tool's answer, not a fault: the model hears them and nothing pauses. */
const BUSINESS_FAILURES: readonly string[] = [
  FailureType.IdempotencyConflict,
  FailureType.InvalidToolArguments,
  FailureType.ToolRefused,
  FailureType.UnknownTool,
];

const TOOL_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 8,
    nonRetryableErrorTypes: [...BUSINESS_FAILURES],
  },
};
const toolActivities = proxyActivities<ToolActivities>(TOOL_ACTIVITY_OPTIONS);

const PRECHECK_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
};
const prechecks =
  proxyActivities<Record<string, (input: PrecheckInput) => Promise<PrecheckResult>>>(PRECHECK_ACTIVITY_OPTIONS);

/** What a tool call's outcome carries besides the tool, its arguments and its status. */
export type OutcomeBase = Omit<ToolOutcome, 'tool' | 'args' | 'status'>;

/** What the runner needs from the run. */
export interface ToolRunContext {
  audit: AuditLog;
  counts: OutcomeCounts;
  outcomes: ToolOutcome[];
  /** Attempts per tool activity before the run pauses (the run input's `toolMaxAttempts`). */
  maxAttempts: number;
  /**
   * Asks a person what to do with a tool that still fails after its attempts: `retry`, `skip` or `abort`.
   * @param detail - what failed and why, in words
   */
  askAfterFailure(detail: string): Promise<PauseOutcome>;
  /** Ends the run (an `abort` answer); never returns. */
  stop(by: string, reason: string): never;
  /** Marks the run busy while `work` (an activity) is in flight, so it does not continue as new in the middle. */
  track<T>(work: Promise<T>): Promise<T>;
}

/**
 * Runs tool calls as activities, each with its idempotency key, and records the outcome on the audit trail, in the
 * counts and in the run's outcomes. A call that waited for a decision first runs the tool's precheck (context refresh
 * after the wait). A tool that still fails after its retries pauses the run for a person: retry (same key, so at most
 * one effect), skip (the model is told) or abort.
 */
export class ToolRunner {
  readonly #ctx: ToolRunContext;

  constructor(ctx: ToolRunContext) {
    this.#ctx = ctx;
  }

  /**
   * Runs one call.
   * @param tool - the tool
   * @param args - arguments already parsed by the tool's schema
   * @param idempotencyKey - the same across retries, crashes and replays; different for every call
   * @param outcome - what the outcome records besides the result (call id, gate, request, who decided)
   * @param afterWait - the call waited for people (a request or a plan review): its precheck runs first
   * @returns what the model reads as the tool's result
   */
  async run(
    tool: ToolDefinition,
    args: Record<string, unknown>,
    idempotencyKey: string,
    outcome: OutcomeBase,
    afterWait: boolean,
  ): Promise<ToolResultContent> {
    if (afterWait && tool.precheck !== undefined) {
      const failed = await this.#precheck(tool, tool.precheck, args, outcome);
      if (failed !== undefined) return failed;
    }
    return this.#execute(tool, args, idempotencyKey, outcome);
  }

  /** Runs the precheck; answers the model's result when it blocks the call, else undefined. */
  async #precheck(
    tool: ToolDefinition,
    activityType: string,
    args: Record<string, unknown>,
    outcome: OutcomeBase,
  ): Promise<ToolResultContent | undefined> {
    const { audit, counts, outcomes } = this.#ctx;
    let checked: PrecheckResult;
    try {
      const activity = prechecks[activityType];
      if (activity === undefined) throw new Error(`no activity proxy for ${activityType}`);
      checked = await this.#ctx.track(
        activity.executeWithOptions(
          { ...PRECHECK_ACTIVITY_OPTIONS, summary: `Precheck before running: ${tool.describe(args)}` },
          [{ args }],
        ),
      );
    } catch (err) {
      if (isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
      // Fail closed: a check that cannot run is a check that did not pass.
      checked = { ok: false, reason: `the precheck could not run: ${err.cause?.message ?? err.message}` };
    }
    if (checked.ok) return undefined;
    counts.blocked += 1;
    const message = `approved, but the precheck failed so the call did not run: ${checked.reason}`;
    const hash = argsHash(args);
    audit.append({
      kind: 'precheck_failed',
      actor: 'system',
      tool: tool.name,
      argsHash: hash,
      ...(outcome.requestId !== undefined ? { requestId: outcome.requestId } : {}),
      detail: `${tool.describe(args)}: ${message}`,
    });
    outcomes.push({ ...outcome, tool: tool.name, args, argsHash: hash, status: 'blocked', error: message });
    return { status: 'error', message };
  }

  async #execute(
    tool: ToolDefinition,
    args: Record<string, unknown>,
    idempotencyKey: string,
    outcome: OutcomeBase,
  ): Promise<ToolResultContent> {
    const { audit, counts, outcomes, maxAttempts } = this.#ctx;
    const hash = argsHash(args);
    const activity = toolActivities[tool.name];
    if (activity === undefined) throw new Error(`no activity proxy for ${tool.name}`);
    const summary = tool.describe(args);
    const requestRef = outcome.requestId !== undefined ? { requestId: outcome.requestId } : {};
    const record = { ...outcome, tool: tool.name, args, argsHash: hash };
    const options: ActivityOptions = {
      ...TOOL_ACTIVITY_OPTIONS,
      retry: { ...TOOL_ACTIVITY_OPTIONS.retry, maximumAttempts: maxAttempts },
      summary,
    };
    for (;;) {
      try {
        // The same idempotency key on every attempt and every retry after a pause: the effect happens once.
        const result = await this.#ctx.track(activity.executeWithOptions(options, [{ args, idempotencyKey }]));
        counts.executed += 1;
        audit.append({
          kind: 'tool_executed',
          actor: outcome.decidedBy ?? 'agent',
          tool: tool.name,
          argsHash: hash,
          ...requestRef,
          detail: `${summary}: done${result.replayed ? ' (result replayed from the idempotency ledger)' : ''}`,
        });
        outcomes.push({ ...record, status: 'executed', result: result.data });
        return { status: 'ok', result: result.data };
      } catch (err) {
        // A stop cancels the activity: that is not the tool failing, and nothing should pause for it.
        if (isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
        const cause = err.cause;
        const message =
          cause instanceof ApplicationFailure
            ? `${cause.type ?? 'Error'}: ${cause.message}`
            : (cause?.message ?? err.message);
        audit.append({
          kind: 'tool_failed',
          actor: 'system',
          tool: tool.name,
          argsHash: hash,
          ...requestRef,
          detail: `${summary}: failed: ${message}`,
        });
        if (cause instanceof ApplicationFailure && BUSINESS_FAILURES.includes(cause.type ?? '')) {
          // The tool refused (bad arguments, nothing left to refund…): that is an answer the model can use.
          counts.failed += 1;
          outcomes.push({ ...record, status: 'failed', error: message });
          return { status: 'error', message };
        }
        const answer = await this.#ctx.askAfterFailure(
          `${summary} still fails after ${maxAttempts} attempt(s): ${message}. Retry, skip (the agent is told) or abort?`,
        );
        if (answer.action === 'retry') continue;
        if (answer.action === 'abort') this.#ctx.stop(answer.by, answer.reason ?? `aborted after ${summary} failed`);
        counts.failed += 1;
        const skipped = `skipped by ${answer.by} after it failed: ${message}`;
        outcomes.push({ ...record, status: 'skipped', error: skipped });
        return { status: 'error', message: skipped };
      }
    }
  }
}
