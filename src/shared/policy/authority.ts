import { gateRank, type ResolvedGate } from './evaluate';
import type { Policy } from './schema';

// Evaluated inside workflow code: pure functions of their arguments.

/** Whether someone may take a decision, and why not. */
export type AuthorityCheck = { ok: true } | { ok: false; reason: string };

/**
 * The people in some groups.
 * @param policy - a parsed policy
 * @param groups - group names; names the policy does not define contribute nobody
 * @returns distinct member names, sorted (code-unit order). Empty for empty `groups`, which means anyone may decide.
 */
export function eligibleApprovers(policy: Policy, groups: readonly string[]): string[] {
  const members = groups.flatMap((g) => (Object.hasOwn(policy.groups, g) ? (policy.groups[g] ?? []) : []));
  return [...new Set(members)].sort();
}

function orList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1] ?? ''}`;
}

/**
 * Checks that someone may decide a request at a stage: they must belong to one of the stage's groups (any non-empty
 * name when the stage lists no groups), and under separation of duties they must not be the run's requester.
 * @param policy - the policy the run uses
 * @param gate - the request's resolved gate
 * @param stageIndex - index into `gate.stages` of the stage now deciding
 * @param approver - who is deciding
 * @param requestedBy - who started the run
 * @returns ok, or the reason in a sentence for the decider
 */
export function checkAuthority(
  policy: Policy,
  gate: ResolvedGate,
  stageIndex: number,
  approver: string,
  requestedBy: string,
): AuthorityCheck {
  const stage = gate.stages[stageIndex];
  if (stage === undefined) {
    return { ok: false, reason: `a ${gate.kind} gate has no approval stage ${stageIndex} (${gate.because})` };
  }
  if (approver.trim() === '') return { ok: false, reason: 'an approver name is required' };
  if (stage.groups.length > 0 && !eligibleApprovers(policy, stage.groups).includes(approver)) {
    return {
      ok: false,
      reason: `"${approver}" is not in ${orList(stage.groups)} (the groups that may decide this request now)`,
    };
  }
  if (gate.separationOfDuties && approver === requestedBy) {
    return {
      ok: false,
      reason: `"${approver}" requested this run and may not decide its requests (separation of duties)`,
    };
  }
  return { ok: true };
}

/** A gate in words for refusal messages: `hard by finance, quorum 2 (issue_refund rule …)`. */
function describeGate(gate: ResolvedGate): string {
  const groups = gate.stages[0]?.groups ?? [];
  const who =
    gate.stages.length === 0 ? '' : ` by ${groups.length > 0 ? groups.join(' + ') : 'anyone'}, quorum ${gate.quorum}`;
  return `${gate.kind}${who} (${gate.because})`;
}

/**
 * Whether `next` asks more of its deciders than `original`: a stronger kind; or, for the same waiting kind, a higher
 * quorum, separation of duties newly on, or a stage-0 set of deciders that leaves out someone who could decide before.
 */
function asksMore(policy: Policy, original: ResolvedGate, next: ResolvedGate): boolean {
  if (gateRank(next.kind) !== gateRank(original.kind)) return gateRank(next.kind) > gateRank(original.kind);
  const before = original.stages[0];
  const after = next.stages[0];
  if (before === undefined || after === undefined) return false;
  if (next.quorum > original.quorum || (next.separationOfDuties && !original.separationOfDuties)) return true;
  if (after.groups.length === 0) return false;
  if (before.groups.length === 0) return true;
  const now = new Set(eligibleApprovers(policy, after.groups));
  return eligibleApprovers(policy, before.groups).some((p) => !now.has(p));
}

/**
 * Checks that an editor may approve edited arguments whose gate differs from the original's. Refused when the edited
 * arguments are denied outright, or when their gate asks more than the original (stronger kind, higher quorum,
 * narrower deciders) and the editor may not decide its stage 0 — so an edit cannot carry a call past approvers it
 * now needs (e.g. a support agent raising a refund into finance's range).
 * @param policy - the policy the run uses
 * @param original - the gate of the request as it is
 * @param edited - the gate the edited arguments resolve to
 * @param editor - who edits
 * @param requestedBy - who started the run
 * @returns ok, or the reason naming both gates
 */
export function editAllowed(
  policy: Policy,
  original: ResolvedGate,
  edited: ResolvedGate,
  editor: string,
  requestedBy: string,
): AuthorityCheck {
  if (edited.kind === 'deny') {
    return {
      ok: false,
      reason: `the edited arguments are denied by the policy: ${describeGate(edited)}; the original gate was ${describeGate(original)}`,
    };
  }
  if (!asksMore(policy, original, edited)) return { ok: true };
  const check = checkAuthority(policy, edited, 0, editor, requestedBy);
  if (check.ok) return check;
  return {
    ok: false,
    reason: `the edit moves the request from ${describeGate(original)} to ${describeGate(edited)}, and ${check.reason}`,
  };
}
