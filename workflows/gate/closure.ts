import type { ApprovalRequest, ToolOutcome } from '../../src/shared/run-state';
import type { Settled } from '../run/progress';

/** How a request was closed. */
export type Closure =
  | {
      kind: 'approved';
      args: Record<string, unknown>;
      argsHash: string;
      approvers: string[];
      edited: boolean;
      at: string;
    }
  | { kind: 'rejected'; by: string; reason: string; at: string }
  | { kind: 'responded'; by: string; message: string; at: string }
  | { kind: 'expired'; at: string }
  | { kind: 'proceeded'; at: string }
  | { kind: 'stopped'; by: string; reason: string; at: string };

/**
 * What a closed request means for its call: it runs (approved, or a soft gate's window passed), or it has settled
 * without running (rejected, answered with feedback, expired, stopped).
 */
export type Verdict =
  | {
      kind: 'run';
      closure: Closure;
      /** The arguments that run: the edited ones after an edit. */
      args: Record<string, unknown>;
      /** What the call's outcome records besides the tool, its arguments and its status. */
      outcome: Omit<ToolOutcome, 'tool' | 'args' | 'status'>;
      /** Whether people approved it (counted as an approval), and whether they edited it. */
      approved: boolean;
      edited: boolean;
    }
  | { kind: 'settled'; closure: Closure; settled: Settled };

/** A closure in words, for refusal messages and notifications. */
export function describeClosure(c: Closure): string {
  switch (c.kind) {
    case 'approved':
      return `approved by ${c.approvers.join(' and ')} at ${c.at}`;
    case 'rejected':
      return `rejected by ${c.by} at ${c.at}`;
    case 'responded':
      return `answered with feedback by ${c.by} at ${c.at}`;
    case 'expired':
      return `expired at ${c.at}`;
    case 'proceeded':
      return `soft gate window passed at ${c.at}`;
    case 'stopped':
      return `run stopped by ${c.by} at ${c.at}`;
  }
}

/**
 * What a closure means for the request's call.
 * @param request - the gate's record of the request (after an edit, the edited arguments; `editedFrom` the proposed)
 * @param closure - how it closed
 */
export function verdictOf(request: ApprovalRequest, closure: Closure): Verdict {
  const base = { toolCallId: request.toolCallId, gate: request.gate, requestId: request.requestId };
  const proposed = {
    tool: request.tool,
    args: request.editedFrom?.args ?? request.args,
    argsHash: request.editedFrom?.argsHash ?? request.argsHash,
  };
  const settled = (
    status: ToolOutcome['status'],
    result: Settled['result'],
    extra: Partial<ToolOutcome> = {},
  ): Verdict => ({
    kind: 'settled',
    closure,
    settled: { result, outcome: { ...base, ...proposed, status, ...extra } },
  });
  switch (closure.kind) {
    case 'expired': {
      const message = `no decision before the deadline ${closure.at}: the call was denied and did not run`;
      return settled('expired', { status: 'expired', message }, { error: message });
    }
    case 'rejected': {
      const message = `rejected by ${closure.by}: ${closure.reason}`;
      return settled('rejected', { status: 'rejected', message }, { decidedBy: closure.by, error: message });
    }
    case 'responded': {
      const message = `feedback from ${closure.by} (the call did not run): ${closure.message}`;
      return settled('responded', { status: 'feedback', message }, { decidedBy: closure.by, error: message });
    }
    case 'stopped': {
      const message = `the run was stopped by ${closure.by}: ${closure.reason}`;
      return settled('stopped', { status: 'error', message }, { error: message });
    }
    case 'proceeded':
      return {
        kind: 'run',
        closure,
        args: request.args,
        outcome: { ...base, decidedBy: 'policy (soft gate: no veto within the window)' },
        approved: false,
        edited: false,
      };
    case 'approved':
      return {
        kind: 'run',
        closure,
        args: closure.args,
        outcome: {
          ...base,
          decidedBy: closure.approvers.join(', '),
          ...(request.editedFrom !== undefined
            ? { editedFrom: { args: request.editedFrom.args, argsHash: request.editedFrom.argsHash } }
            : {}),
        },
        approved: true,
        edited: closure.edited,
      };
  }
}
