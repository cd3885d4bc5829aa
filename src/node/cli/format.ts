import type { AgentRunResult, ApprovalRequest, AuditEntry, RunStatus } from '../../shared/run-state';
import { renderApprovalRequest } from '../../shared/render/approval';
import { renderPause, resumeCommands } from '../../shared/render/pause';

/** Text of one pending request for `hitl pending`, with the commands to decide it. */
export function formatPendingLine(req: ApprovalRequest): string {
  return [
    `${req.workflowId}  ${req.requestId}`,
    `  ${req.summary}`,
    `  tool ${req.tool}  ${req.gate} gate  approvals ${req.approvals.length}/${req.quorum}  may decide: ${req.eligibleApprovers.join(', ') || 'anyone'}`,
    `  args ${JSON.stringify(req.args)}`,
    ...(req.effect !== undefined ? [`  touches ${req.effect.lines.join('; ')}`] : []),
    `  hash ${req.argsHash}  deadline ${req.deadline}`,
  ].join('\n');
}

/** The commands a reviewer types to decide a request. */
export function decisionCommands(req: ApprovalRequest): string {
  const target = `${req.workflowId} ${req.requestId}`;
  return [
    `  approve: hitl approve ${target} --as YOUR_NAME`,
    `  reject:  hitl reject ${target} --as YOUR_NAME --reason "why"`,
    `  edit:    hitl edit ${target} --as YOUR_NAME --args '${JSON.stringify(req.args)}'`,
    `  respond: hitl respond ${target} --as YOUR_NAME --message "what the agent should do instead"`,
  ].join('\n');
}

/** `hitl show`: the run's status, then each pending request as a reviewer should read it. */
export function formatShow(status: RunStatus, pending: readonly ApprovalRequest[]): string {
  const c = status.counts;
  const lines = [
    `run ${status.workflowId}: ${status.phase.replace('_', ' ')} (model calls: ${status.step})`,
    `goal: ${status.goal}`,
    `requested by: ${status.requestedBy}`,
    `policy: ${status.policyName !== undefined ? `${status.policyName}, version ` : ''}${status.policyVersion}` +
      (status.policySha256 !== undefined ? ` (sha256 ${status.policySha256})` : ''),
    `so far: ${c.executed} executed, ${c.approvals} approved (${c.edits} edited), ${c.rejections} rejected, ` +
      `${c.responses} answered with feedback, ${c.expiries} expired, ${c.denied} denied, ${c.blocked} blocked by a ` +
      `precheck, ${c.failed} failed, ${c.invalid} invalid`,
    `model spend: $${status.spentUsd.toFixed(4)}`,
  ];
  if (status.answer !== undefined) lines.push(`answer: ${status.answer}`);
  if (status.pause !== undefined) {
    lines.push('', renderPause(status.pause), resumeCommands(status.workflowId, status.pause));
  }
  if (pending.length === 0) lines.push('', 'nothing is waiting for approval');
  for (const req of pending) {
    lines.push('', renderApprovalRequest(req), decisionCommands(req));
  }
  return lines.join('\n');
}

/** `hitl audit`: one line per entry. */
export function formatAudit(entries: readonly AuditEntry[]): string {
  return entries
    .map((e) => {
      const req = e.requestId !== undefined ? ` [${e.requestId.slice(0, 8)}]` : '';
      return `${String(e.seq).padStart(3)} ${e.at}  ${e.kind.padEnd(18)} ${e.actor.padEnd(10)}${req} ${e.detail}`;
    })
    .join('\n');
}

/** `hitl result`: the answer and each tool call's outcome. */
export function formatResult(result: AgentRunResult): string {
  const c = result.counts;
  const lines = [
    ...(result.stopped !== undefined ? [`stopped by ${result.stopped.by}: ${result.stopped.reason}`] : []),
    `answer: ${result.answer}`,
    `model calls: ${result.steps}; tool calls: ${c.executed} executed, ${c.approvals} approved (${c.edits} edited), ` +
      `${c.rejections} rejected, ${c.responses} answered with feedback, ${c.expiries} expired, ${c.denied} denied, ` +
      `${c.blocked} blocked by a precheck, ${c.failed} failed, ${c.invalid} invalid (policy ${result.policyVersion})`,
  ];
  for (const o of result.outcomes) {
    const who = o.decidedBy !== undefined && o.status !== 'rejected' ? ` (approved by ${o.decidedBy})` : '';
    const why = o.error !== undefined ? `: ${o.error}` : '';
    const ref =
      o.resultRef !== undefined && o.result === undefined
        ? ` (result of ${o.resultRef.bytes} bytes kept by reference, sha256 ${o.resultRef.sha256.slice(0, 12)}…)`
        : '';
    lines.push(`  ${o.status.padEnd(8)} ${o.tool} ${JSON.stringify(o.args)}${who}${why}${ref}`);
  }
  return lines.join('\n');
}
