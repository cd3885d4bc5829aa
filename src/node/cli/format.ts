import type { AgentRunResult, ApprovalRequest, AuditEntry, RunStatus } from '../../shared/run-state';
import { renderApprovalRequest } from '../../shared/render/approval';
import { relativeTime } from '../../shared/render/relative-time';
import { displayJson, escapeTerminal as t, shellJson, shellWord } from '../../shared/render/escape';
import { renderPause, resumeCommands } from '../../shared/render/pause';

// Every string below that came from the run (a model's, a tool's, a policy's or a client's words, and ids a client
// chose) goes through `t` (escapeTerminal) or is JSON from displayJson: one line each, whatever it holds, so a line
// that looks like an approval or an audit entry is one the CLI wrote.

/** Text of one pending request for `hitl pending`, with the commands to decide it. */
export function formatPendingLine(req: ApprovalRequest): string {
  const who = req.eligibleApprovers.join(', ') || 'anyone';
  return [
    `${t(req.workflowId)}  ${t(req.requestId)}`,
    `  ${t(req.summary)}`,
    `  tool ${t(req.tool)}  ${t(req.gate)} gate  approvals ${req.approvals.length}/${req.quorum}  may decide: ${t(who)}`,
    `  args ${displayJson(req.args)}`,
    ...(req.effect !== undefined ? [`  touches ${t(req.effect.lines.join('; '))}`] : []),
    `  hash ${t(req.argsHash)}  deadline ${t(req.deadline)} (${relativeTime(req.deadline)})`,
  ].join('\n');
}

/** The commands a reviewer types to decide a request, ids and arguments shell-quoted so a paste runs nothing else. */
export function decisionCommands(req: ApprovalRequest): string {
  const target = `${shellWord(req.workflowId)} ${shellWord(req.requestId)}`;
  return [
    `  approve: npx hitl approve ${target} --as YOUR_NAME`,
    `  reject:  npx hitl reject ${target} --as YOUR_NAME --reason "why"`,
    `  edit:    npx hitl edit ${target} --as YOUR_NAME --args ${shellJson(req.args)}`,
    `  respond: npx hitl respond ${target} --as YOUR_NAME --message "what the agent should do instead"`,
  ].join('\n');
}

/** `hitl show`: the run's status, then each pending request as a reviewer should read it. */
export function formatShow(status: RunStatus, pending: readonly ApprovalRequest[]): string {
  const c = status.counts;
  const lines = [
    `run ${t(status.workflowId)}: ${t(status.phase.replace('_', ' '))} (model calls: ${status.step})`,
    `goal: ${t(status.goal)}`,
    `requested by: ${t(status.requestedBy)}`,
    `policy: ${status.policyName !== undefined ? `${t(status.policyName)}, version ` : ''}${t(status.policyVersion)}` +
      (status.policySha256 !== undefined ? ` (sha256 ${t(status.policySha256)})` : ''),
    `so far: ${c.executed} executed, ${c.approvals} approved (${c.edits} edited), ${c.rejections} rejected, ` +
      `${c.responses} answered with feedback, ${c.expiries} expired, ${c.denied} denied, ${c.blocked} blocked by a ` +
      `precheck, ${c.failed} failed, ${c.invalid} invalid`,
    `model spend: $${status.spentUsd.toFixed(4)}`,
  ];
  if (status.answer !== undefined) lines.push(`answer: ${t(status.answer)}`);
  if (status.pause !== undefined) {
    lines.push('', renderPause(status.pause), resumeCommands(status.workflowId, status.pause));
  }
  if (pending.length === 0) lines.push('', 'nothing is waiting for approval');
  for (const req of pending) {
    lines.push('', renderApprovalRequest(req), decisionCommands(req));
  }
  return lines.join('\n');
}

/**
 * `hitl audit`: one line per entry, `seq at kind actor [request] detail`, each field escaped, so a refused signal's
 * request id or reason cannot start a line of its own.
 */
export function formatAudit(entries: readonly AuditEntry[]): string {
  return entries
    .map((e) => {
      const req = e.requestId !== undefined ? ` [${t(e.requestId.slice(0, 8))}]` : '';
      return `${String(e.seq).padStart(3)} ${t(e.at)}  ${t(e.kind).padEnd(18)} ${t(e.actor).padEnd(10)}${req} ${t(e.detail)}`;
    })
    .join('\n');
}

/** Who decided a call and how, for `hitl result`: ` (approved by fiona, frank)`, ` (edited from {…}, approved by sue)`. */
function decidedInWords(o: AgentRunResult['outcomes'][number]): string {
  if (o.decidedBy === undefined) return '';
  const by = t(o.decidedBy);
  if (o.status === 'rejected') return ` (rejected by ${by})`;
  if (o.status === 'responded') return ` (answered with feedback by ${by})`;
  if (o.status === 'stopped') return ` (stopped by ${by})`;
  const edited = o.editedFrom !== undefined ? `edited from ${displayJson(o.editedFrom.args)}, ` : '';
  return ` (${edited}approved by ${by})`;
}

/** `hitl result`: the answer and each tool call's outcome. */
export function formatResult(result: AgentRunResult): string {
  const c = result.counts;
  const lines = [
    ...(result.stopped !== undefined ? [`stopped by ${t(result.stopped.by)}: ${t(result.stopped.reason)}`] : []),
    `answer: ${t(result.answer)}`,
    `model calls: ${result.steps}; tool calls: ${c.executed} executed, ${c.approvals} approved (${c.edits} edited), ` +
      `${c.rejections} rejected, ${c.responses} answered with feedback, ${c.expiries} expired, ${c.denied} denied, ` +
      `${c.blocked} blocked by a precheck, ${c.failed} failed, ${c.invalid} invalid (policy ${t(result.policyVersion)})`,
  ];
  for (const o of result.outcomes) {
    const who = decidedInWords(o);
    const why = o.error !== undefined ? `: ${t(o.error)}` : '';
    const ref =
      o.resultRef !== undefined && o.result === undefined
        ? ` (result of ${o.resultRef.bytes} bytes kept by reference, sha256 ${t(o.resultRef.sha256.slice(0, 12))}…)`
        : '';
    lines.push(`  ${t(o.status).padEnd(8)} ${t(o.tool)} ${displayJson(o.args)}${who}${why}${ref}`);
  }
  return lines.join('\n');
}
