import { condition, uuid4 } from '@temporalio/workflow';
import { ResumeSchema, type ResumeRequest } from '../../src/shared/decision';
import { eligibleApprovers } from '../../src/shared/policy/authority';
import type { PauseAction, PauseKind, PlanStep, RunPause } from '../../src/shared/run-state';
import { parseToolCall } from '../../src/shared/tools/parse-call';
import { formatZodError } from '../../src/shared/zod-format';
import type { AuditLog } from '../run/audit-log';
import { resumeStatement } from '../../src/shared/identity/statements';
import type { Accepted, RunAuthority } from '../run/authority';
import { ValidatedUpdates, type Checked } from '../validated-update';

/** What a pause ended with: the person's answer, or the pause's own `onTimeout` action at its deadline. */
export interface PauseOutcome {
  action: PauseAction;
  by: string;
  reason?: string;
  /** For an edited plan: the replacement steps, validated. */
  steps?: { tool: string; args: Record<string, unknown> }[];
}

/** What a new pause needs; the rest (id, times, who may answer) is filled in. */
export interface PauseSpec {
  kind: PauseKind;
  detail: string;
  actions: PauseAction[];
  onTimeout: PauseAction;
  timeoutMs: number;
  plan?: PlanStep[];
  /** Whether the run's requester is barred from answering (plan review under separation of duties). */
  barRequester?: boolean;
}

/** An answer that {@link Pauses.check} accepted. */
interface AcceptedAnswer {
  answer: ResumeRequest;
  /** Who answered, as verified (or as claimed, where the policy allows unsigned answers). */
  identity: Accepted;
  steps?: PauseOutcome['steps'];
}

/**
 * The run's pause point: at most one pause is open at a time (a second one, e.g. from another tool of the same turn
 * failing, waits until the first is answered); the `resume` update answers it. Who may answer: any member of the
 * policy's groups (anyone when the policy has none), and never the requester where the pause bars them. A pause that
 * opens or closes goes on the audit trail and on the run's status.
 */
export class Pauses {
  #current: RunPause | undefined;
  #answer: PauseOutcome | undefined;
  readonly #policy: RunAuthority;
  readonly #audit: AuditLog;
  readonly #status: { publish(): void };
  readonly #updates: ValidatedUpdates<AcceptedAnswer>;

  readonly #opened: (pause: RunPause) => void;

  /** @param opened - told when a pause opens (the notifier tells the people who may answer it) */
  constructor(
    policy: RunAuthority,
    audit: AuditLog,
    status: { publish(): void },
    opened: (pause: RunPause) => void = () => undefined,
  ) {
    this.#policy = policy;
    this.#audit = audit;
    this.#status = status;
    this.#opened = opened;
    this.#updates = new ValidatedUpdates((payload) => this.check(payload));
  }

  /** The open pause, if any (a copy without internal fields). */
  current(): RunPause | undefined {
    const open = this.#current;
    if (open === undefined) return undefined;
    return {
      pauseId: open.pauseId,
      kind: open.kind,
      detail: open.detail,
      actions: [...open.actions],
      openedAt: open.openedAt,
      deadline: open.deadline,
      onTimeout: open.onTimeout,
      eligible: [...open.eligible],
      separationOfDuties: open.separationOfDuties,
      ...(open.plan !== undefined ? { plan: open.plan } : {}),
    };
  }

  /**
   * Checks an answer without changing anything.
   * @param payload - untrusted input from the `resume` update
   */
  check(payload: unknown): Checked<AcceptedAnswer> {
    const parsed = ResumeSchema.safeParse(payload);
    if (!parsed.success) return { ok: false, reason: `malformed resume: ${formatZodError(parsed.error)}` };
    const answer = parsed.data;
    const pause = this.#current;
    if (pause === undefined || this.#answer !== undefined) return { ok: false, reason: 'the run is not paused' };
    if (answer.pauseId !== pause.pauseId) {
      return { ok: false, reason: `unknown pause id "${answer.pauseId}" (the open pause is ${pause.pauseId})` };
    }
    if (!pause.actions.includes(answer.action)) {
      return { ok: false, reason: `a ${pause.kind} pause takes ${pause.actions.join(', ')}, not ${answer.action}` };
    }
    const who = this.#policy.accept(answer.by, answer.signature, resumeStatement(answer), 'answer');
    if (!who.ok) return who;
    const identity = who.accepted;
    const by = identity.subject;
    if (pause.eligible.length > 0 && !pause.eligible.includes(by)) {
      return { ok: false, reason: `"${by}" may not answer this pause (may: ${pause.eligible.join(', ')})` };
    }
    if (pause.separationOfDuties && by === this.#policy.requestedBy) {
      return {
        ok: false,
        reason: `"${by}" requested this run and may not approve its plan (separation of duties)`,
      };
    }
    if (
      (answer.action === 'reject' || answer.action === 'stop' || answer.action === 'abort') &&
      answer.reason === undefined
    ) {
      return { ok: false, reason: `a ${answer.action} needs a reason` };
    }
    if (answer.action !== 'edit') return { ok: true, value: { answer, identity } };
    if (answer.steps === undefined || answer.steps.length === 0) {
      return { ok: false, reason: 'an edit of a plan needs the replacement steps' };
    }
    const steps: NonNullable<PauseOutcome['steps']> = [];
    for (const [i, step] of answer.steps.entries()) {
      const parsed = parseToolCall(step.tool, step.args, this.#policy.tools);
      if (!parsed.ok) return { ok: false, reason: `plan step ${i + 1} is invalid: ${parsed.reason}` };
      steps.push({ tool: step.tool, args: parsed.args });
    }
    return { ok: true, value: { answer, identity, steps } };
  }

  /**
   * The `resume` update's validator.
   * @throws ApplicationFailure `InvalidDecision` (non-retryable) with the reason
   */
  validate(payload: unknown): void {
    this.#updates.validate(payload);
  }

  /**
   * The `resume` update's handler: records the answer its validator accepted, on the audit trail too.
   * @throws ApplicationFailure `InvalidDecision` (non-retryable) when, on replay, the check refuses it
   */
  answer(payload: unknown): { pauseId: string; action: string } {
    const { answer, steps, identity } = this.#updates.take(payload);
    this.#answer = {
      action: answer.action,
      by: identity.subject,
      ...(answer.reason !== undefined ? { reason: answer.reason } : {}),
      ...(steps !== undefined ? { steps } : {}),
    };
    this.#audit.append({
      kind: 'run_resumed',
      actor: identity.signed ? identity.label : `${identity.label} (unsigned)`,
      detail: `answered the pause with ${answer.action}${answer.reason !== undefined ? `: ${answer.reason}` : ''}`,
    });
    return { pauseId: answer.pauseId, action: answer.action };
  }

  /**
   * Opens a pause and waits on a durable timer for the answer; at the deadline the pause's `onTimeout` action applies.
   * Waits first while another pause is open. A cancellation (stop) closes the pause and propagates.
   * @param spec - what the pause is about and which answers it takes
   */
  async wait(spec: PauseSpec): Promise<PauseOutcome> {
    // Re-checked after every wake-up: two waiters woken by one change must not both open.
    while (this.#current !== undefined) await condition(() => this.#current === undefined);
    const now = Date.now();
    const policy = this.#policy.policy;
    this.#answer = undefined;
    const open: RunPause = {
      pauseId: uuid4(),
      kind: spec.kind,
      detail: spec.detail,
      actions: spec.actions,
      openedAt: new Date(now).toISOString(),
      deadline: new Date(now + spec.timeoutMs).toISOString(),
      onTimeout: spec.onTimeout,
      eligible: eligibleApprovers(policy, Object.keys(policy.groups)),
      separationOfDuties: spec.barRequester ?? false,
      ...(spec.plan !== undefined ? { plan: spec.plan } : {}),
    };
    this.#current = open;
    this.#audit.append({
      kind: 'run_paused',
      actor: 'system',
      detail: `${open.kind.replace('_', ' ')}: ${open.detail} (answer by ${open.deadline}, else ${open.onTimeout})`,
    });
    this.#status.publish();
    const shown = this.current();
    if (shown !== undefined) this.#opened(shown);
    let outcome: PauseOutcome | undefined;
    try {
      const answered = await condition(() => this.#answer !== undefined, spec.timeoutMs, {
        summary: `Paused (${spec.kind.replace('_', ' ')}): waiting for a person until ${open.deadline}`,
      });
      outcome =
        answered && this.#answer !== undefined
          ? this.#answer
          : { action: spec.onTimeout, by: 'system', reason: `no answer before ${open.deadline}` };
    } finally {
      this.#current = undefined;
      this.#answer = undefined;
    }
    if (outcome.by === 'system') {
      this.#audit.append({ kind: 'run_resumed', actor: 'system', detail: `no answer in time: ${outcome.action}` });
    }
    this.#status.publish();
    return outcome;
  }
}
