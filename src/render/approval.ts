import type { ApprovalRequest, OutcomeCounts } from '../run-state';

/** What happens at the request's deadline, in words. */
export function timeoutConsequence(req: ApprovalRequest): string {
  if (req.onTimeout === 'proceed') return 'the call runs (soft gate: no veto means go)';
  if (req.onTimeout === 'escalate') {
    const next = req.stages[req.stage + 1];
    return `the request escalates to ${next !== undefined && next.groups.length > 0 ? next.groups.join(', ') : 'anyone'}`;
  }
  return 'the call is denied, never approved';
}

/** The facts a reviewer needs about one request, as label and value pairs, free text unescaped. */
export function approvalFacts(req: ApprovalRequest): [string, string][] {
  const c = req.classification;
  const risk =
    c === undefined
      ? 'unclassified tool (fail closed)'
      : `${c.reversibility.replace('_', ' ')}, blast radius ${c.blastRadius.replace('_', ' ')}, external effects ` +
        `${c.externalEffects.length > 0 ? c.externalEffects.join(', ') : 'none'}` +
        (c.financialImpact === 'none' ? '' : `, financial (${c.financialImpact})`);
  const who = req.eligibleApprovers.length > 0 ? req.eligibleApprovers.join(', ') : 'anyone';
  const groups = req.stages[req.stage]?.groups ?? [];
  const approvedBy = req.approvals.map((a) => a.approver);
  return [
    ['why', req.reasoning?.trim() ? req.reasoning.trim() : '(the model gave no reasoning)'],
    ['if approved', req.gate === 'soft' ? 'it runs now instead of at the deadline' : 'it runs once, exactly as shown'],
    ['if rejected', 'nothing runs; the agent reads the reason and may propose something else'],
    ['risk', risk],
    ['gate', `${req.gate} (${req.because}; policy ${req.policyVersion})`],
    [
      'who may decide',
      `${who}${groups.length > 0 ? ` (${groups.join(', ')})` : ''}${req.separationOfDuties ? `; not ${req.requestedBy}, who requested the run` : ''}`,
    ],
    ['approvals', `${approvedBy.length} of ${req.quorum}${approvedBy.length > 0 ? ` (${approvedBy.join(', ')})` : ''}`],
    ['deadline', `${req.deadline}; then ${timeoutConsequence(req)}`],
    ...(req.editedFrom !== undefined
      ? ([['edited', `by ${req.editedFrom.by}, from ${JSON.stringify(req.editedFrom.args)}`]] as [string, string][])
      : []),
    ['arguments', JSON.stringify(req.args)],
    ['request', `${req.requestId} (tool ${req.tool}, args hash ${req.argsHash})`],
  ];
}

/**
 * Renders an approval request as plain text for a terminal (`hitl show`, the demo).
 * @param req - the pending request
 * @returns lines: the summary, then one `- label: value` line per fact
 */
export function renderApprovalRequest(req: ApprovalRequest): string {
  return [req.summary, ...approvalFacts(req).map(([k, v]) => `- ${k}: ${v}`)].join('\n');
}

/** Escapes text so a Markdown renderer shows it as written (the Web UI would turn `$…$` into math). */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-!|$<>~]/g, (ch) => `\\${ch}`);
}

/**
 * Renders the Web UI's "Current Details" (Markdown) for a run with pending requests: the goal once, then for each
 * request the command to decide it first (the UI's frame is short), then its facts.
 * @param pending - requests waiting for a decision
 * @param goal - the run's goal
 * @param idle - the Markdown to show when nothing is pending
 */
export function renderCurrentDetails(pending: readonly ApprovalRequest[], goal: string, idle: string): string {
  if (pending.length === 0) return idle;
  const blocks = pending.map((req) => {
    const cmd = `hitl approve ${req.workflowId} ${req.requestId} --as NAME`;
    const facts = approvalFacts(req)
      .filter(([k]) => k !== 'request')
      .map(([k, v]) => `- ${k}: ${escapeMarkdown(v)}`);
    return [`**${escapeMarkdown(req.summary)}**`, '', `\`${cmd}\` (or reject, edit, respond)`, '', ...facts].join('\n');
  });
  return [`### Waiting for approval (${pending.length})`, `Goal: ${escapeMarkdown(goal)}`, ...blocks].join('\n\n');
}

/**
 * The Web UI's "Current Details" once nothing is pending: phase and the tally of outcomes.
 * @param headline - e.g. "Completed after 5 model calls."
 * @param counts - outcome counts so far
 */
export function renderTally(headline: string, counts: OutcomeCounts): string {
  const c = counts;
  return [
    `**${escapeMarkdown(headline)}**`,
    '',
    `- executed: ${c.executed}; failed: ${c.failed}`,
    `- approved: ${c.approvals} (edited ${c.edits}); rejected: ${c.rejections}; feedback: ${c.responses}`,
    `- expired: ${c.expiries}; denied by policy: ${c.denied}; invalid calls: ${c.invalid}`,
  ].join('\n');
}
