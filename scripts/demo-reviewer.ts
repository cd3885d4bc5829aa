// The demo's reviewer: follows a run, prints each approval request as it appears and, unattended, decides it from a
// separate client as the policy's own people would. Demo only.
import type { Client } from '@temporalio/client';
import { auditTrail, decide, UpdateRefusedError, pendingApprovals, resumeRun, runStatus } from '../client';
import { decisionCommands } from '../src/node/cli/format';
import { loadKey } from '../src/node/identity/keys';
import type { Decision } from '../src/shared/decision';
import { renderApprovalRequest } from '../src/shared/render/approval';
import { renderPause, resumeCommands } from '../src/shared/render/pause';
import type { ApprovalRequest, AuditEntry, PauseAction, RunPause } from '../src/shared/run-state';

/** A decision by `approver` on `req`, as `hitl` builds it: bound to the arguments and the effect the request shows. */
function decisionOn(req: ApprovalRequest, approver: string, decision: Decision['decision'], reason?: string): Decision {
  return {
    requestId: req.requestId,
    decision,
    approver,
    argsHash: req.argsHash,
    ...(req.effect !== undefined ? { effectHash: req.effect.sha256 } : {}),
    ...(reason !== undefined ? { reason } : {}),
  };
}

/** The signing key of a demo person, from the demo's keys folder (undefined: the decision goes unsigned). */
function keyOf(person: string, keysDir: string | undefined): { key?: NonNullable<ReturnType<typeof loadKey>> } {
  const key = keysDir !== undefined ? loadKey(person, keysDir) : undefined;
  return key !== undefined ? { key } : {};
}

/** What the unattended reviewer does with a request. */
type Plan = { kind: 'wait'; why: string } | { kind: 'approve' } | { kind: 'reject'; reason: string };

const DELETION_REFUSAL = 'accounts with invoices are kept for 7 years for tax purposes';

/**
 * The unattended script, by the shape of the request rather than by name where it can be:
 * - a soft gate is left alone, so it proceeds when its window passes;
 * - a deletion is rejected, with a reason the agent reads;
 * - a request that needs one approval and escalates on timeout is left until it escalates, then approved there;
 * - anything else is approved by as many different people as its quorum needs, one after the other.
 */
function planFor(req: ApprovalRequest): Plan {
  if (req.gate === 'soft') {
    return { kind: 'wait', why: `left alone: a soft gate proceeds at ${req.deadline} unless someone vetoes it` };
  }
  if (req.tool === 'delete_customer') return { kind: 'reject', reason: DELETION_REFUSAL };
  if (req.onTimeout === 'escalate' && req.quorum === 1) {
    const next = req.stages[req.stage + 1]?.groups.join(' or ') ?? 'the next stage';
    return { kind: 'wait', why: `left alone until it escalates to ${next} at ${req.deadline}` };
  }
  return { kind: 'approve' };
}

/** The groups deciding the request now, in words. */
function deciders(req: ApprovalRequest): string {
  const groups = req.stages[req.stage]?.groups ?? [];
  return groups.length > 0 ? groups.join(' or ') : 'anyone';
}

/** Why `name` may not take the next decision on `req`, or undefined when they may. */
function whyNot(req: ApprovalRequest, name: string): string | undefined {
  if (req.eligibleApprovers.length > 0 && !req.eligibleApprovers.includes(name)) {
    return `${name} is not in ${deciders(req)}`;
  }
  if (req.separationOfDuties && name === req.requestedBy) {
    return `${name} requested this run (separation of duties)`;
  }
  if (req.approvals.some((a) => a.approver === name)) return `${name} already approved`;
  return undefined;
}

/** People who may take the next decision, in the policy's order. */
function candidates(req: ApprovalRequest): string[] {
  return req.eligibleApprovers.filter((p) => whyNot(req, p) === undefined);
}

/**
 * Who signs the next decision: `name` when they may, else the first eligible member (with the reason `name` may not).
 * @returns the signer and a note for the printed line, or undefined when nobody is left who may decide
 */
function pickSigner(req: ApprovalRequest, name: string | undefined): { signer: string; note: string } | undefined {
  if (name !== undefined) {
    const why = whyNot(req, name);
    if (why === undefined) return { signer: name, note: '' };
    const other = req.eligibleApprovers.length > 0 ? candidates(req)[0] : 'reviewer';
    return other !== undefined ? { signer: other, note: ` — ${why}` } : undefined;
  }
  if (req.eligibleApprovers.length === 0) return { signer: 'reviewer', note: '' };
  const first = candidates(req)[0];
  return first !== undefined ? { signer: first, note: '' } : undefined;
}

/** The commands a person types to decide `req`, with eligible names filled in. */
function commandsFor(req: ApprovalRequest, keysDir: string | undefined): string {
  const people = candidates(req);
  const first = people[0] ?? 'YOUR_NAME';
  const intro =
    req.gate === 'soft'
      ? `It goes ahead at ${req.deadline} unless vetoed. To veto it (reject) or send it now (approve), as one of`
      : `In a second terminal, decide as one of`;
  const who = people.length > 0 ? `${people.join(', ')} (${deciders(req)})` : 'anyone';
  const lines = [
    `\n${intro} ${who}:`,
    decisionCommands(req)
      .replace(/YOUR_NAME/g, first)
      .replace(/(?:npx )?hitl /g, keysDir !== undefined ? `npx hitl --keys-dir ${keysDir} ` : 'npx hitl '),
  ];
  if (req.quorum - req.approvals.length > 1) {
    const more = people.slice(1, req.quorum - req.approvals.length).map((p) => `--as ${p}`);
    lines.push(`  it needs ${req.quorum} different approvers: approve again ${more.join(', then ')}`);
  }
  return lines.join('\n');
}

/** Decides `req` from the reviewer's client as the plan says, printing each decision and who signed it. */
async function decideUnattended(
  reviewer: Client,
  req: ApprovalRequest,
  name: string | undefined,
  keysDir: string | undefined,
  say: (text: string) => void,
): Promise<void> {
  const plan = planFor(req);
  if (plan.kind === 'wait') {
    say(`\n(unattended) ${plan.why}`);
    return;
  }
  const request = { ...req, approvals: [...req.approvals] };
  while (request.approvals.length < request.quorum) {
    const pick = pickSigner(request, name);
    if (pick === undefined) {
      say(`\n(unattended) nobody left in ${deciders(request)} who may decide ${request.requestId}`);
      return;
    }
    const by = `${pick.signer} (${deciders(request)})${pick.note}`;
    try {
      const key = keyOf(pick.signer, keysDir);
      if (plan.kind === 'reject') {
        await decide(reviewer, request.workflowId, decisionOn(request, pick.signer, 'reject', plan.reason), key);
        say(`\n(unattended) rejected by ${by}: "${plan.reason}"`);
        return;
      }
      const receipt = await decide(reviewer, request.workflowId, decisionOn(request, pick.signer, 'approve'), key);
      request.approvals.push({ approver: pick.signer, at: new Date().toISOString() });
      const state = receipt.closed ? 'request closed, the call runs' : `${receipt.approvalsNeeded} more needed`;
      say(`\n(unattended) approved by ${by}; ${state}`);
    } catch (err) {
      if (!(err instanceof UpdateRefusedError)) throw err;
      say(`\n(unattended) refused for ${pick.signer}: ${err.message}`);
      return;
    }
  }
}

/** The unattended answer to a pause: go on, approve a plan as proposed, or skip a tool that keeps failing. */
const UNATTENDED_ANSWERS: PauseAction[] = ['continue', 'approve', 'skip'];

/** Answers an open pause from the reviewer's client as the first person who may (`name` when they may). */
async function answerPause(
  reviewer: Client,
  workflowId: string,
  pause: RunPause,
  name: string | undefined,
  keysDir: string | undefined,
  say: (text: string) => void,
): Promise<void> {
  const action = UNATTENDED_ANSWERS.find((a) => pause.actions.includes(a));
  if (action === undefined) return;
  const may = (p: string) => pause.eligible.length === 0 || pause.eligible.includes(p);
  const by = name !== undefined && may(name) ? name : (pause.eligible[0] ?? 'reviewer');
  const note = name !== undefined && by !== name ? ` — ${name} may not answer it` : '';
  try {
    await resumeRun(reviewer, workflowId, { pauseId: pause.pauseId, action, by }, keyOf(by, keysDir));
    say(`\n(unattended) answered ${action} as ${by}${note}`);
  } catch (err) {
    if (!(err instanceof UpdateRefusedError)) throw err;
    say(`\n(unattended) refused for ${by}: ${err.message}`);
  }
}

/** Audit entries worth a live line: what happened to a request without the demo's own decision. */
function liveLine(e: AuditEntry, unattended: boolean): string | undefined {
  const shown =
    e.kind === 'approval_escalated' ||
    e.kind === 'approval_expired' ||
    e.kind === 'tool_denied' ||
    e.kind === 'decision_refused' ||
    (e.kind === 'tool_executed' && e.requestId !== undefined) ||
    (e.kind === 'decision' && !unattended);
  return shown ? `  [${e.at.slice(11, 19)}] ${e.kind} by ${e.actor}: ${e.detail}` : undefined;
}

/** Options of {@link followRun}. */
export interface FollowOptions {
  /** The demo's client, for queries. */
  client: Client;
  workflowId: string;
  /** A separate client that decides; absent in interactive mode (the person decides with `npx hitl`). */
  reviewer?: Client;
  /** `--approve-as NAME`: signs what NAME may decide. */
  approveAs?: string;
  /** Where the demo people's signing keys are. */
  keysDir?: string;
  say: (text: string) => void;
}

/**
 * Follows a run until it ends: prints each approval request as it appears (and again when it escalates), the live
 * outcomes from the audit trail, and either the commands to decide (interactive) or the decisions taken (unattended).
 */
export async function followRun(opts: FollowOptions): Promise<void> {
  const { client, workflowId, reviewer, approveAs, keysDir, say } = opts;
  const stages = new Map<string, number>();
  let pauseSeen: string | undefined;
  let auditSeen = 0;
  for (;;) {
    const status = await runStatus(client, workflowId);
    const trail = await auditTrail(client, workflowId);
    for (const e of trail.slice(auditSeen)) {
      const line = liveLine(e, reviewer !== undefined);
      if (line !== undefined) say(line);
    }
    auditSeen = trail.length;
    if (status.phase === 'completed' || status.phase === 'failed' || status.phase === 'stopped') return;
    const pause = status.pause;
    if (pause !== undefined && pause.pauseId !== pauseSeen) {
      pauseSeen = pause.pauseId;
      say(`\n--- the run is paused ---\n${renderPause(pause)}`);
      if (reviewer === undefined)
        say(
          `\nIn a second terminal, answer:\n${resumeCommands(workflowId, pause).replace(/(?:npx )?hitl /g, keysDir !== undefined ? `npx hitl --keys-dir ${keysDir} ` : 'npx hitl ')}`,
        );
      else await answerPause(reviewer, workflowId, pause, approveAs, keysDir, say);
    }
    for (const req of await pendingApprovals(client, workflowId)) {
      if (stages.get(req.requestId) === req.stage) continue;
      const escalated = stages.has(req.requestId);
      stages.set(req.requestId, req.stage);
      const heading = escalated ? `approval request, escalated to ${deciders(req)}` : 'approval request';
      say(`\n--- ${heading} ---\n${renderApprovalRequest(req)}`);
      if (reviewer === undefined) say(commandsFor(req, keysDir));
      else await decideUnattended(reviewer, req, approveAs, keysDir, say);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
