import { checkAuthority } from '../../src/shared/policy/authority';
import type { ApprovalRequest } from '../../src/shared/run-state';
import type { RunAuthority } from '../run/authority';
import type { Closure } from './closure';

/**
 * The last check before a gated call's tool activity starts: the gate is resolved again for the exact arguments
 * about to run, and the closure must give what that gate requires. A `hard` gate needs as many distinct approvals as
 * its quorum, each from someone who may decide its current stage (and not the requester under separation of duties);
 * a `soft` gate an approval of that kind or a veto window that passed; `deny` never runs. Whatever path led here (an
 * edit, an escalation, a carried request), a violation fails closed.
 * @param authority - the run's policy and requester
 * @param request - the gate's record of the request
 * @param closure - how it closed (`approved` or `proceeded`)
 * @param args - the arguments about to run
 * @returns ok, or what is missing in a sentence
 */
export function gateSatisfied(
  authority: RunAuthority,
  request: ApprovalRequest,
  closure: Closure,
  args: Record<string, unknown>,
): { ok: true } | { ok: false; reason: string } {
  const gate = authority.resolve(request.tool, args);
  switch (gate.kind) {
    case 'deny':
      return { ok: false, reason: `the policy denies these arguments (${gate.because})` };
    case 'auto':
    case 'auto_logged':
      return { ok: true };
    case 'soft':
      if (closure.kind === 'proceeded') {
        return request.gate === 'soft'
          ? { ok: true }
          : { ok: false, reason: 'a hard request cannot proceed on timeout' };
      }
      break;
    case 'hard':
      if (closure.kind === 'proceeded') {
        return { ok: false, reason: `these arguments need approval (${gate.because}), and nobody approved them` };
      }
      break;
  }
  if (closure.kind !== 'approved') return { ok: false, reason: `the request closed as ${closure.kind}` };
  const quorum = gate.kind === 'soft' ? 1 : gate.quorum;
  // Approvals are cleared at each escalation, so every approval counted was given at the current stage.
  const eligible = [...new Set(request.approvals.map((a) => a.approver))].filter(
    (approver) => checkAuthority(authority.policy, gate, request.stage, approver, authority.requestedBy).ok,
  );
  if (eligible.length < quorum) {
    return {
      ok: false,
      reason:
        `these arguments need ${quorum} approval(s) from people who may decide them (${gate.because}); ` +
        `they have ${eligible.length}${eligible.length > 0 ? ` (${eligible.join(', ')})` : ''}`,
    };
  }
  return { ok: true };
}
