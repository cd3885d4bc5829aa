import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  type ActivityFunctionWithOptions,
  type ActivityOptions,
  type LocalActivityFunctionWithOptions,
  type LocalActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { PrecheckActivities } from '../../src/shared/activity-types';
import { FailureType } from '../../src/shared/errors';
import { argsHash } from '../../src/shared/hash';
import type { ToolOutcome } from '../../src/shared/run-state';
import { findTool, type PrecheckName } from '../../src/shared/tools/catalog';
import { hasPatch, PATCHES } from '../patches';
import type { PatchId } from '../patch-ids';
import type { PrecheckResult, ToolActivityInput, ToolActivityResult } from '../../src/shared/tools/types';
import type { RunToolDefinition } from '../../src/shared/tools/mcp';
import type { ResolvedEffect } from '../../src/shared/run-state';
import { resolvedEffect } from '../gate/request';
import type { Pauses } from '../pause/pauses';
import type { AuditLog } from './audit-log';
import type { InFlight } from './in-flight';
import type { Settled } from './progress';
import type { RunAuthority } from './authority';

/** Failure types that are the tool's answer, not a fault: the model hears them and nothing pauses. */
const BUSINESS_FAILURES: readonly string[] = [
  FailureType.IdempotencyConflict,
  FailureType.InvalidToolArguments,
  FailureType.ToolRefused,
  FailureType.UnknownTool,
];

/** How a tool call is retried, as an activity or a local one: faults are retried, business refusals are answers. */
const TOOL_RETRY: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 8,
  nonRetryableErrorTypes: [...BUSINESS_FAILURES],
};
const TOOL_ACTIVITY_OPTIONS: ActivityOptions = { startToCloseTimeout: '1 minute', retry: TOOL_RETRY };
// Keyed by tool name: the catalog's tools and the run's MCP tools (each registered by the worker under its name).
const toolActivities =
  proxyActivities<Record<string, (input: ToolActivityInput) => Promise<ToolActivityResult>>>(TOOL_ACTIVITY_OPTIONS);

/**
 * Read-only catalog tools the policy lets run without a person (`auto`) run as local activities (since
 * `PATCHES.readOnlyLocal`): inside the workflow task that proposed them, on the worker that runs it, with no activity
 * task of their own and no second workflow task before the model sees the result. Their attempts are short reads of
 * the billing database; a worker that dies during one fails the workflow task, and the read runs again.
 */
const LOCAL_READ_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: TOOL_RETRY,
};
const localToolActivities =
  proxyLocalActivities<Record<string, (input: ToolActivityInput) => Promise<ToolActivityResult>>>(LOCAL_READ_OPTIONS);

/**
 * Whether a tool only reads: a catalog tool classified reversible, touching nothing, with no external effect and no
 * money moved. MCP tools stay ordinary activities whatever they declare: their latency is their server's.
 */
function readsOnly(tool: RunToolDefinition): boolean {
  const c = tool.classification;
  return (
    findTool(tool.name) !== undefined &&
    c.reversibility === 'reversible' &&
    c.blastRadius === 'none' &&
    c.externalEffects.length === 0 &&
    c.financialImpact === 'none'
  );
}

/**
 * How long a tool attempt may go without a heartbeat before the server gives up on its worker and retries it (the
 * worker's liveness interceptor heartbeats every third of it, and the SDK passes at most one per 80% of it to the
 * server). A tool whose worker is SIGKILLed is timed out 1 to 5 s after the kill and, after the retry's 1 s first
 * interval, starts again on another worker: seconds, not the 1-minute start-to-close timeout.
 */
export const TOOL_HEARTBEAT_TIMEOUT = '5 seconds';

const PRECHECK_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
};
const prechecks = proxyActivities<PrecheckActivities>(PRECHECK_ACTIVITY_OPTIONS);

/** The local activity that runs a read-only tool: the same activity type, run inside the workflow task. */
function localActivityOf(
  name: string,
): LocalActivityFunctionWithOptions<(input: ToolActivityInput) => Promise<ToolActivityResult>> {
  const activity = localToolActivities[name];
  if (activity === undefined) throw new Error(`no local activity proxy for ${name}`);
  return activity;
}

/** The activity that runs a tool: its type is the tool's name. */
function activityOf(
  name: string,
): ActivityFunctionWithOptions<(input: ToolActivityInput) => Promise<ToolActivityResult>> {
  const activity = toolActivities[name];
  if (activity === undefined) throw new Error(`no activity proxy for ${name}`);
  return activity;
}

/**
 * Prechecks added to a catalog tool while runs were in flight, with the change that added each: runs from before it
 * replay without the precheck (a catalog change is a workflow change).
 */
const ADDED_PRECHECKS: Partial<Record<PrecheckName, PatchId>> = {
  precheck_send_email: PATCHES.requestAuthority,
};

/** The tool's precheck, unless the run is from before that precheck existed. */
function precheckOf(tool: RunToolDefinition): PrecheckName | undefined {
  const name = tool.precheck;
  if (name === undefined) return undefined;
  const since = ADDED_PRECHECKS[name];
  return since === undefined || hasPatch(since) ? name : undefined;
}

/** What a tool call's outcome carries besides the tool, its arguments and its status. */
export type OutcomeBase = Omit<ToolOutcome, 'tool' | 'args' | 'status'>;

/** How a tool call ended: settled (ran, failed, blocked, skipped), or a person aborted the run over it. */
export type ToolRun = ({ kind: 'settled' } & Settled) | { kind: 'aborted'; by: string; reason: string };

/** A precheck found that the call would touch something else than its reviewers approved: nothing ran. */
export type ChangedEffect = { kind: 'changed'; effect: ResolvedEffect; difference: string };

/** What a precheck after a wait found: the call may run, is blocked, or would touch something else than approved. */
export type PrecheckVerdict = { kind: 'pass' } | { kind: 'blocked'; settled: Settled } | ChangedEffect;

/** What the runner works with. */
export interface ToolRunnerDeps {
  audit: AuditLog;
  inFlight: InFlight;
  /** Asked what to do with a tool that still fails after its attempts. */
  pauses: Pauses;
  policy: RunAuthority;
  /** Attempts per tool activity before the run pauses (the run input's `toolMaxAttempts`). */
  maxAttempts: number;
}

/**
 * Runs tool calls as activities, each with its idempotency key, and puts what happened on the audit trail; it returns
 * each call's outcome for the run to record. A call that waited for a decision first runs the tool's precheck
 * (context refresh after the wait). A tool that still fails after its retries pauses the run for a person: retry
 * (same key, so at most one effect), skip (the model is told) or abort (returned: the run ends).
 */
export class ToolRunner {
  readonly #deps: ToolRunnerDeps;

  constructor(deps: ToolRunnerDeps) {
    this.#deps = deps;
  }

  /**
   * Runs one call.
   * @param tool - the tool
   * @param args - arguments already parsed by the tool's schema
   * @param idempotencyKey - the same across retries, crashes and replays; different for every call
   * @param outcome - what the outcome records besides the result (call id, gate, request, who decided)
   * @param afterWait - the call waited for people (a request or a plan review): its precheck runs first
   */
  async run(
    tool: RunToolDefinition,
    args: Record<string, unknown>,
    idempotencyKey: string,
    outcome: OutcomeBase,
    afterWait: boolean,
  ): Promise<ToolRun> {
    if (afterWait) {
      if (hasPatch(PATCHES.precheckInTool)) {
        const ran = await this.execute(tool, args, idempotencyKey, outcome, this.precheckFor(tool, undefined));
        // With no approved effect to compare, a precheck never answers `changed` (see #verdict).
        return ran.kind === 'changed'
          ? { kind: 'settled', ...this.#blocked(tool, args, outcome, ran.difference) }
          : ran;
      }
      // Runs from before PATCHES.precheckInTool: the precheck activity first. Keep this path as it was, awaits
      // included: the order of commands from calls settling in one activation depends on them.
      const checked = await this.precheck(tool, args, { idempotencyKey, outcome });
      if (checked.kind === 'blocked') return { kind: 'settled', ...checked.settled };
    }
    return this.execute(tool, args, idempotencyKey, outcome);
  }

  /**
   * The precheck a call that waited for people runs inside its tool's activity (`execute`'s last argument), since
   * `PATCHES.precheckInTool`; undefined for a tool without one.
   * @param approved - the effect the reviewers approved, if the request showed one
   */
  precheckFor(
    tool: RunToolDefinition,
    approved: ResolvedEffect | undefined,
  ): { name: PrecheckName; approved: ResolvedEffect | undefined } | undefined {
    const name = precheckOf(tool);
    return name !== undefined ? { name, approved } : undefined;
  }

  /**
   * What a call would touch, as the tool's precheck resolves it now (undefined for a tool without a precheck, or
   * when the precheck cannot say: the request then shows no effect and binds none).
   */
  async resolveEffect(tool: RunToolDefinition, args: Record<string, unknown>): Promise<ResolvedEffect | undefined> {
    const name = precheckOf(tool);
    if (name === undefined) return undefined;
    try {
      const checked = await this.#deps.inFlight.track(
        prechecks[name].executeWithOptions(
          { ...PRECHECK_ACTIVITY_OPTIONS, summary: `What it would touch: ${tool.describe(args)}` },
          [{ args }],
        ),
      );
      return checked.effect !== undefined ? resolvedEffect(checked.effect) : undefined;
    } catch (err) {
      if (isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
      return undefined;
    }
  }

  /**
   * Runs the tool's precheck activity before a call that waited for people (runs from before `PATCHES.precheckInTool`; later ones run it inside the tool's activity): context refresh (an approval may be hours old),
   * the ledger (a call that ran already passes: the tool replays its result), and the effect the reviewers approved.
   * @param options - the call's idempotency key, the approved effect (if any), what a blocked outcome records
   */
  async precheck(
    tool: RunToolDefinition,
    args: Record<string, unknown>,
    options: { idempotencyKey: string; outcome: OutcomeBase; approved?: ResolvedEffect | undefined },
  ): Promise<PrecheckVerdict> {
    const { inFlight } = this.#deps;
    const { outcome, approved } = options;
    const name = precheckOf(tool);
    if (name === undefined) return { kind: 'pass' };
    let checked: PrecheckResult;
    try {
      checked = await inFlight.track(
        prechecks[name].executeWithOptions(
          { ...PRECHECK_ACTIVITY_OPTIONS, summary: `Precheck before running: ${tool.describe(args)}` },
          [
            {
              args,
              idempotencyKey: options.idempotencyKey,
              ...(approved !== undefined ? { approvedEffect: approved.facts } : {}),
            },
          ],
        ),
      );
    } catch (err) {
      if (isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
      // Fail closed: a check that cannot run is a check that did not pass.
      checked = { ok: false, reason: `the precheck could not run: ${err.cause?.message ?? err.message}` };
    }
    return this.#verdict(tool, args, checked, outcome, approved);
  }

  /** What a precheck's answer means for the call: it may run, it is blocked, or its effect changed since approval. */
  #verdict(
    tool: RunToolDefinition,
    args: Record<string, unknown>,
    checked: PrecheckResult,
    outcome: OutcomeBase,
    approved: ResolvedEffect | undefined,
  ): PrecheckVerdict {
    if (checked.ok) return { kind: 'pass' };
    if (checked.changed === true && checked.effect !== undefined && approved !== undefined) {
      return { kind: 'changed', effect: resolvedEffect(checked.effect), difference: checked.reason };
    }
    return { kind: 'blocked', settled: this.#blocked(tool, args, outcome, checked.reason) };
  }

  /** Records a call its precheck stopped: a `precheck_failed` entry, and the outcome the model reads. */
  #blocked(tool: RunToolDefinition, args: Record<string, unknown>, outcome: OutcomeBase, reason: string): Settled {
    const message = `approved, but the precheck failed so the call did not run: ${reason}`;
    const hash = argsHash(args);
    this.#deps.audit.append({
      kind: 'precheck_failed',
      actor: 'system',
      tool: tool.name,
      argsHash: hash,
      ...(outcome.requestId !== undefined ? { requestId: outcome.requestId } : {}),
      detail: `${tool.describe(args)}: ${message}`,
    });
    return {
      result: { status: 'error', message },
      outcome: { ...outcome, tool: tool.name, args, argsHash: hash, status: 'blocked', error: message },
    };
  }

  /**
   * Runs the tool activity with its idempotency key; a tool that keeps failing pauses the run for a person.
   * @param precheck - the precheck the activity runs before the tool, and the effect the reviewers approved
   * @returns the settled call, `aborted` when the person aborted the run over it, or `changed` when the precheck
   *   found another effect than the approved one (nothing ran)
   */
  execute(
    tool: RunToolDefinition,
    args: Record<string, unknown>,
    idempotencyKey: string,
    outcome: OutcomeBase,
  ): Promise<ToolRun>;
  execute(
    tool: RunToolDefinition,
    args: Record<string, unknown>,
    idempotencyKey: string,
    outcome: OutcomeBase,
    precheck: { name: PrecheckName; approved: ResolvedEffect | undefined } | undefined,
  ): Promise<ToolRun | ChangedEffect>;
  async execute(
    tool: RunToolDefinition,
    args: Record<string, unknown>,
    idempotencyKey: string,
    outcome: OutcomeBase,
    precheck?: { name: PrecheckName; approved: ResolvedEffect | undefined },
  ): Promise<ToolRun | ChangedEffect> {
    const { audit, inFlight, maxAttempts } = this.#deps;
    const input: ToolActivityInput = { args, idempotencyKey };
    // A read the policy runs without a person: a local activity (runs from before PATCHES.readOnlyLocal scheduled one).
    const local =
      precheck === undefined && outcome.gate === 'auto' && readsOnly(tool) && hasPatch(PATCHES.readOnlyLocal);
    if (precheck !== undefined) {
      const approvedEffect = precheck.approved?.facts;
      input.precheck = { name: precheck.name, ...(approvedEffect !== undefined ? { approvedEffect } : {}) };
    }
    const hash = argsHash(args);
    const summary = tool.describe(args);
    const requestRef = outcome.requestId !== undefined ? { requestId: outcome.requestId } : {};
    const record = { ...outcome, tool: tool.name, args, argsHash: hash };
    const options: ActivityOptions = {
      ...TOOL_ACTIVITY_OPTIONS,
      retry: { ...TOOL_ACTIVITY_OPTIONS.retry, maximumAttempts: maxAttempts },
      // An attribute of the ScheduleActivityTask command that replay does not compare: no patched() guard needed.
      heartbeatTimeout: TOOL_HEARTBEAT_TIMEOUT,
      summary,
    };
    for (;;) {
      try {
        // The same idempotency key on every attempt and every retry after a pause: the effect happens once.
        const result = await inFlight.track(
          local
            ? localActivityOf(tool.name).executeWithOptions({ ...LOCAL_READ_OPTIONS, summary }, [input])
            : activityOf(tool.name).executeWithOptions(options, [input]),
        );
        if (precheck !== undefined && result.precheck !== undefined && !result.precheck.ok) {
          const verdict = this.#verdict(tool, args, result.precheck, outcome, precheck.approved);
          if (verdict.kind === 'changed') return verdict;
          if (verdict.kind === 'blocked') return { kind: 'settled', ...verdict.settled };
        }
        const checked = result.precheck?.ok === true ? ` (precheck: ${result.precheck.note})` : '';
        audit.append({
          kind: 'tool_executed',
          actor: outcome.decidedBy ?? 'agent',
          tool: tool.name,
          argsHash: hash,
          ...requestRef,
          detail: `${summary}: done${result.replayed ? ' (result replayed from the idempotency ledger)' : ''}${checked}`,
        });
        return {
          kind: 'settled',
          result: { status: 'ok', result: result.data },
          outcome: { ...record, status: 'executed', result: result.data },
        };
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
          return {
            kind: 'settled',
            result: { status: 'error', message },
            outcome: { ...record, status: 'failed', error: message },
          };
        }
        const answer = await this.#deps.pauses.wait({
          kind: 'tool_failure',
          detail: `${summary} still fails after ${maxAttempts} attempt(s): ${message}. Retry, skip (the agent is told) or abort?`,
          actions: ['retry', 'skip', 'abort'],
          onTimeout: 'abort',
          timeoutMs: this.#deps.policy.pauseTimeoutMs(),
        });
        if (answer.action === 'retry') continue;
        if (answer.action === 'abort') {
          return { kind: 'aborted', by: answer.by, reason: answer.reason ?? `aborted after ${summary} failed` };
        }
        const skipped = `skipped by ${answer.by} after it failed: ${message}`;
        return {
          kind: 'settled',
          result: { status: 'error', message: skipped },
          outcome: { ...record, status: 'skipped', error: skipped },
        };
      }
    }
  }
}
