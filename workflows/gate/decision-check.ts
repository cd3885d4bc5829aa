import { parseDecisionMessage, type Decision } from '../../src/shared/decision';
import { argsHash } from '../../src/shared/hash';
import { decisionStatement } from '../../src/shared/identity/statements';
import { checkAuthority, editAllowed } from '../../src/shared/policy/authority';
import type { ResolvedGate } from '../../src/shared/policy/evaluate';
import type { ApprovalRequest } from '../../src/shared/run-state';
import { parseToolCall } from '../../src/shared/tools/parse-call';
import type { Accepted as AcceptedIdentity, RunAuthority } from '../run/authority';
import type { Checked } from '../validated-update';
import { describeClosure, type Closure } from './closure';

/** A decision the gate accepted, with who made it and its effect on the request. */
export interface Accepted {
  decision: Decision;
  request: ApprovalRequest;
  /** Who decided, as verified (or as claimed, where the policy allows unsigned decisions). */
  identity: AcceptedIdentity;
  /** For an edit: the edited arguments, their hash and their gate. */
  edit?: { args: Record<string, unknown>; argsHash: string; gate: ResolvedGate };
}

/** What the check reads of the gate: the open requests with their gates, and how closed ones closed. */
export interface GateView {
  pending: ReadonlyMap<string, ApprovalRequest>;
  gates: ReadonlyMap<string, ResolvedGate>;
  closed: ReadonlyMap<string, Closure>;
}

/**
 * Checks a decision message (one decision or a batch) without changing anything; a batch is all or nothing. In order:
 * the payload's shape; the request is open; the argument hash (and effect hash) match what it shows; the signature
 * verifies (or the policy allows an unsigned decision); the verified person may decide it now (groups of its stage,
 * separation of duties, one approval each); an edit's arguments parse and its gate does not ask more than the editor
 * may give.
 * @param payload - untrusted input from a signal or update
 * @param gate - the gate's state
 * @param authority - the run's policy, registry and requester
 */
export function checkDecisions(payload: unknown, gate: GateView, authority: RunAuthority): Checked<Accepted[]> {
  const parsed = parseDecisionMessage(payload);
  if (!parsed.ok) return parsed;
  const ids = parsed.decisions.map((d) => d.requestId);
  if (new Set(ids).size !== ids.length) return { ok: false, reason: 'a batch names the same request twice' };
  const accepted: Accepted[] = [];
  for (const d of parsed.decisions) {
    const one = checkOne(d, gate, authority);
    if (!one.ok) return parsed.decisions.length > 1 ? { ok: false, reason: `${d.requestId}: ${one.reason}` } : one;
    accepted.push(one.value);
  }
  return { ok: true, value: accepted };
}

function checkOne(d: Decision, view: GateView, authority: RunAuthority): Checked<Accepted> {
  const request = view.pending.get(d.requestId);
  const gate = view.gates.get(d.requestId);
  if (request === undefined || gate === undefined) {
    const closed = view.closed.get(d.requestId);
    if (closed === undefined) {
      const open = [...view.pending.keys()];
      const hint = open.length > 0 ? `pending: ${open.join(', ')}` : 'nothing is pending';
      return { ok: false, reason: `unknown request id "${d.requestId}" (${hint})` };
    }
    return { ok: false, reason: `request ${d.requestId} is already closed (${describeClosure(closed)})` };
  }
  if (d.argsHash !== request.argsHash) {
    return {
      ok: false,
      reason: `stale decision: argsHash ${d.argsHash.slice(0, 12)}… does not match the pending arguments (${request.argsHash.slice(0, 12)}…)`,
    };
  }
  const effectHash = request.effect?.sha256;
  if (effectHash !== undefined && d.effectHash === undefined) {
    return {
      ok: false,
      reason: `the request shows what the call will touch (effectHash ${effectHash}): the decision must carry that effectHash`,
    };
  }
  if (d.effectHash !== undefined && d.effectHash !== effectHash) {
    return {
      ok: false,
      reason: `stale decision: effectHash ${d.effectHash.slice(0, 12)}… does not match what the call will touch now (${effectHash?.slice(0, 12) ?? 'none'}…)`,
    };
  }
  const who = authority.accept(
    d.approver,
    d.signature,
    decisionStatement(d, { argsHash: request.argsHash, effectHash }),
    'decision',
  );
  if (!who.ok) return who;
  const identity = who.accepted;
  const approver = identity.subject;
  const may = checkAuthority(authority.policy, gate, request.stage, approver, authority.requestedBy);
  if (!may.ok) return may;
  if (d.decision === 'approve' && request.approvals.some((a) => a.approver === approver)) {
    const needed = request.quorum - request.approvals.length;
    return { ok: false, reason: `${approver} already approved; ${needed} more approval(s) needed from someone else` };
  }
  if (d.decision !== 'edit') return { ok: true, value: { decision: d, request, identity } };
  const edited = parseToolCall(request.tool, d.args, authority.tools);
  if (!edited.ok) return { ok: false, reason: `the edit is refused: ${edited.reason}` };
  const newGate = authority.resolve(request.tool, edited.args);
  const allowed = editAllowed(authority.policy, gate, newGate, approver, authority.requestedBy);
  if (!allowed.ok) return allowed;
  const edit = { args: edited.args, argsHash: argsHash(edited.args), gate: newGate };
  return { ok: true, value: { decision: d, request, identity, edit } };
}
