import type { ApprovalRequest } from '../run-state';

/**
 * Renders an approval request for a reviewer: what will happen, why, for which goal, what approval and rejection lead
 * to, its risk and its deadline. Pure, so the workflow can use it for `setCurrentDetails` (the Web UI's "Current
 * Details" renders it as Markdown) and the CLI for `hitl show`.
 *
 * @param req - the pending request
 * @returns Markdown text, one fact per line
 */
export function renderApprovalRequest(req: ApprovalRequest): string {
  const c = req.classification;
  const effects = c.externalEffects.length > 0 ? c.externalEffects.join(', ') : 'none';
  return [
    `**${req.summary}**`,
    `- request: \`${req.requestId}\` (tool \`${req.tool}\`, args hash \`${req.argsHash.slice(0, 12)}…\`)`,
    `- why: ${req.reasoning?.trim() ? req.reasoning.trim() : '(the model gave no reasoning)'}`,
    `- goal of the run: ${req.goal} (requested by ${req.requestedBy})`,
    `- if approved: ${req.summary}, exactly once`,
    `- if rejected: nothing runs; the agent is told the reason and may propose something else`,
    `- risk: ${c.reversibility.replace('_', ' ')}, blast radius ${c.blastRadius.replace('_', ' ')}, ` +
      `external effects ${effects}${c.financialImpact === 'none' ? '' : `, financial (${c.financialImpact})`}`,
    `- deadline: ${req.deadline}; at the deadline the call is denied, never approved`,
    `- arguments: \`${JSON.stringify(req.args)}\``,
  ].join('\n');
}

/**
 * Renders the Web UI's "Current Details" for a run with pending requests, or a one-line state otherwise.
 * @param pending - requests waiting for a decision
 * @param idle - the line to show when nothing is pending
 */
export function renderCurrentDetails(pending: readonly ApprovalRequest[], idle: string): string {
  if (pending.length === 0) return idle;
  const head = `### Waiting for approval (${pending.length})`;
  const how = 'Decide with `hitl approve|reject|edit <workflowId> <requestId> --as NAME`.';
  return [head, ...pending.map(renderApprovalRequest), how].join('\n\n');
}
