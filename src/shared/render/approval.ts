import type { ApprovalRequest, OutcomeCounts, RunPause } from '../run-state';
import { splitAlternatives } from '../model/alternatives';
import {
  displayJson,
  escapeMarkdown,
  escapeTerminal,
  markdownCode,
  partsForMarkdown,
  partsForTerminal,
  shellWord,
  type Fact,
} from './escape';
import { pauseFacts, pauseTitle, planLines } from './pause';

/** What happens at the request's deadline, in words. */
export function timeoutConsequence(req: ApprovalRequest): string {
  if (req.onTimeout === 'proceed') return 'the call runs (soft gate: no veto means go)';
  if (req.onTimeout === 'escalate') {
    const next = req.stages[req.stage + 1];
    return `the request escalates to ${next !== undefined && next.groups.length > 0 ? next.groups.join(', ') : 'anyone'}`;
  }
  return 'the call is denied, never approved';
}

/**
 * The facts a reviewer needs about one request, as labels and values, unescaped: each output escapes them its own
 * way, and shows the arguments as code.
 * @param req - the request
 */
export function approvalFacts(req: ApprovalRequest): Fact[] {
  const c = req.classification;
  const risk =
    c === undefined
      ? 'unclassified tool (fail closed)'
      : `${c.reversibility.replace('_', ' ')}, blast radius ${c.blastRadius.replace('_', ' ')}, external effects ` +
        `${c.externalEffects.length > 0 ? c.externalEffects.join(', ') : 'none'}` +
        (c.financialImpact === 'none' ? '' : `, financial (${c.financialImpact})`);
  const who = req.eligibleApprovers.length > 0 ? req.eligibleApprovers.join(', ') : 'anyone';
  const groups = req.stages[req.stage]?.groups ?? [];
  const approvedBy = req.approvals.map(
    (a) => `${a.approver}${a.via !== undefined ? ` via ${a.via}` : ''}${a.signed === false ? ' (unsigned)' : ''}`,
  );
  const policy = `policy ${req.policyVersion}${req.policySha256 !== undefined ? `, sha256 ${req.policySha256.slice(0, 16)}…` : ''}`;
  // The alternatives have a line of their own; the rest of the model's text is its reasoning.
  const why = splitAlternatives(req.reasoning).reasoning;
  const facts: Fact[] = [
    ['why', [why || '(the model gave no reasoning)']],
    ['alternatives', [req.alternatives.length > 0 ? req.alternatives.join('; ') : '(the model offered none)']],
    [
      'if approved',
      [req.gate === 'soft' ? 'it runs now instead of at the deadline' : 'it runs once, exactly as shown'],
    ],
    ['if rejected', ['nothing runs; the agent reads the reason and may propose something else']],
  ];
  if (req.effect !== undefined) facts.push(['touches', [req.effect.lines.join('; ')]]);
  facts.push(
    ['risk', [risk]],
    ['gate', [`${req.gate} (${req.because}; ${policy})`]],
    [
      'who may decide',
      [
        `${who}${groups.length > 0 ? ` (${groups.join(', ')})` : ''}${req.separationOfDuties ? `; not ${req.requestedBy}, who requested the run` : ''}`,
      ],
    ],
    [
      'approvals',
      [`${approvedBy.length} of ${req.quorum}${approvedBy.length > 0 ? ` (${approvedBy.join(', ')})` : ''}`],
    ],
    ['deadline', [`${req.deadline}; then ${timeoutConsequence(req)}`]],
  );
  if (req.editedFrom !== undefined) {
    facts.push(['edited', [`by ${req.editedFrom.by}, from `, { code: displayJson(req.editedFrom.args) }]]);
  }
  facts.push(
    ['arguments', [{ code: displayJson(req.args) }]],
    ['request', [`${req.requestId} (tool ${req.tool}, args hash ${req.argsHash})`]],
  );
  return facts;
}

/**
 * Renders an approval request as plain text for a terminal (`hitl show`, the demo). Every string from the request is
 * escaped ({@link escapeTerminal}), so the number of lines is the same whatever the model, tool or clients wrote.
 * @param req - the pending request
 * @returns lines: the summary, then one `- label: value` line per fact
 */
export function renderApprovalRequest(req: ApprovalRequest): string {
  return [escapeTerminal(req.summary), ...approvalFacts(req).map(([k, v]) => `- ${k}: ${partsForTerminal(v)}`)].join(
    '\n',
  );
}

/** What the Web UI's "Current Details" show: the run's open pause and pending requests, else `idle`. */
export interface CurrentDetailsInput {
  workflowId: string;
  goal: string;
  pending: readonly ApprovalRequest[];
  /** The open pause, if the run is paused. */
  pause?: RunPause;
  /** The Markdown to show when nothing waits for a person. */
  idle: string;
}

/**
 * Renders the Web UI's "Current Details" (Markdown) for a run that waits for people: the goal once, then the open
 * pause, then for each pending request the command to decide it first (the UI's frame is short), then its facts.
 * Text is escaped ({@link escapeMarkdown}); arguments and commands are code spans, which the UI shows verbatim (in
 * plain text it would turn quotes typographic).
 * @param input - see {@link CurrentDetailsInput}
 * @returns Markdown; `input.idle` when nothing waits
 */
export function renderCurrentDetails(input: CurrentDetailsInput): string {
  const { pending, pause } = input;
  if (pending.length === 0 && pause === undefined) return input.idle;
  const blocks = pending.map((req) => {
    const cmd = `npx hitl approve ${shellWord(req.workflowId)} ${shellWord(req.requestId)} --as NAME`;
    const facts = approvalFacts(req)
      .filter(([k]) => k !== 'request')
      .map(([k, v]) => `- ${k}: ${partsForMarkdown(v)}`);
    return [
      `**${escapeMarkdown(req.summary)}**`,
      '',
      `${markdownCode(cmd)} (or reject, edit, respond)`,
      '',
      ...facts,
    ].join('\n');
  });
  const goal = `Goal: ${escapeMarkdown(input.goal)}`;
  const waiting = `### Waiting for approval (${pending.length})`;
  if (pause === undefined) return [waiting, goal, ...blocks].join('\n\n');
  const cmd = `npx hitl resume ${shellWord(input.workflowId)} ${shellWord(pause.actions[0] ?? 'continue')} --as NAME`;
  const facts = pauseFacts(pause).map(([k, v]) => `- ${k}: ${partsForMarkdown(v)}`);
  // Numbered lines stay a Markdown list: escapeMarkdown leaves the dot after the number alone.
  const steps = planLines(pause).map(partsForMarkdown);
  const sections = [
    `### Paused: ${escapeMarkdown(pauseTitle(pause))}`,
    goal,
    escapeMarkdown(pause.detail),
    `${markdownCode(cmd)} (answers: ${escapeMarkdown(pause.actions.join(', '))})`,
    ...(steps.length > 0 ? [`Plan:\n\n${steps.join('\n')}`] : []),
    facts.join('\n'),
  ];
  if (pending.length > 0) sections.push(waiting, ...blocks);
  return sections.join('\n\n');
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
    `- executed: ${c.executed}; failed: ${c.failed}; blocked by a precheck: ${c.blocked}`,
    `- approved: ${c.approvals} (edited ${c.edits}); rejected: ${c.rejections}; feedback: ${c.responses}`,
    `- expired: ${c.expiries}; denied by policy: ${c.denied}; invalid calls: ${c.invalid}`,
  ].join('\n');
}
