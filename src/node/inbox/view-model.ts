import type { RecentDecision, ReviewerInbox, ReviewerPause, ReviewerRequest } from '../client/inbox-data';
import { approvalFacts, timeoutConsequence } from '../../shared/render/approval';
import { escapeTerminal, showControls, type Fact, type Part } from '../../shared/render/escape';
import { pauseFacts, pauseTitle, planLines } from '../../shared/render/pause';

/** A fact as the page shows it: a label and its parts, every string already made one visible line. */
export type ViewFact = [label: string, parts: Part[]];

/** One request card. Strings for display are escaped ({@link escapeTerminal}); the page sets them as text. */
export interface RequestCard {
  /** Changes whenever anything shown on the card changes: the page keeps a card whose key it already shows. */
  key: string;
  workflowId: string;
  requestId: string;
  tool: string;
  summary: string;
  goal: string;
  facts: ViewFact[];
  /** ISO-8601; the page shows it relative to now. */
  deadline: string;
  /** What happens at the deadline, in words. */
  then: string;
  approvals: number;
  quorum: number;
  gate: 'soft' | 'hard';
  stage: number;
  argsHash: string;
  effectHash?: string;
  /** The arguments as values, for the edit form (set as input values, never as markup). */
  args: Record<string, unknown>;
  policyVersion: string;
  policySha256?: string;
  mayDecide: boolean;
  whyNot?: string;
}

/** One pause card. */
export interface PauseCard {
  key: string;
  workflowId: string;
  pauseId: string;
  title: string;
  detail: string;
  facts: ViewFact[];
  plan: Part[][];
  /** The plan's steps as values, for a plan edit (set as a text area's value, never as markup). */
  steps: { tool: string; args: Record<string, unknown> }[];
  actions: string[];
  deadline: string;
  mayAnswer: boolean;
  whyNot?: string;
}

/** What the page renders; sent as JSON on every change. */
export interface InboxView {
  reviewer: string;
  mine: RequestCard[];
  others: RequestCard[];
  pauses: PauseCard[];
  recent: RecentDecision[];
  /** Runs the inbox could not read, and why, in words. */
  problems: string[];
}

function safeParts(parts: readonly Part[]): Part[] {
  return parts.map((p) => (typeof p === 'string' ? escapeTerminal(p) : { code: showControls(p.code) }));
}

function safeFacts(facts: readonly Fact[]): ViewFact[] {
  return facts.map(([label, parts]) => [label, safeParts(parts)]);
}

function requestCard({ request: r, mayDecide, whyNot }: ReviewerRequest): RequestCard {
  // The deadline has its own row (relative time) and the goal its own line; the rest is the protocol's facts.
  const facts = safeFacts(approvalFacts(r).filter(([label]) => label !== 'deadline'));
  const card: Omit<RequestCard, 'key'> = {
    workflowId: r.workflowId,
    requestId: r.requestId,
    tool: r.tool,
    summary: escapeTerminal(r.summary),
    goal: escapeTerminal(r.goal),
    facts,
    deadline: r.deadline,
    then: escapeTerminal(timeoutConsequence(r)),
    approvals: r.approvals.length,
    quorum: r.quorum,
    gate: r.gate,
    stage: r.stage,
    argsHash: r.argsHash,
    ...(r.effect !== undefined ? { effectHash: r.effect.sha256 } : {}),
    args: r.args,
    policyVersion: r.policyVersion,
    ...(r.policySha256 !== undefined ? { policySha256: r.policySha256 } : {}),
    mayDecide,
    ...(whyNot !== undefined ? { whyNot: escapeTerminal(whyNot) } : {}),
  };
  return { key: JSON.stringify(card), ...card };
}

function pauseCard({ workflowId, pause, mayAnswer, whyNot }: ReviewerPause): PauseCard {
  const card: Omit<PauseCard, 'key'> = {
    workflowId,
    pauseId: pause.pauseId,
    title: pauseTitle(pause),
    detail: escapeTerminal(pause.detail),
    facts: safeFacts(pauseFacts(pause)),
    plan: planLines(pause).map(safeParts),
    steps: (pause.plan ?? []).map((s) => ({ tool: s.tool, args: s.args })),
    actions: pause.actions,
    deadline: pause.deadline,
    mayAnswer,
    ...(whyNot !== undefined ? { whyNot: escapeTerminal(whyNot) } : {}),
  };
  return { key: JSON.stringify(card), ...card };
}

/**
 * The page's view of a reviewer's inbox: cards with every field of the approval protocol, every string escaped to one
 * visible line ({@link escapeTerminal}), so the page only ever sets text.
 * @param inbox - from `reviewerInbox`
 * @param unread - runs whose audit trail could not be read
 * @returns the view
 */
export function inboxView(inbox: ReviewerInbox, unread: readonly string[]): InboxView {
  return {
    reviewer: escapeTerminal(inbox.reviewer),
    mine: inbox.mine.map(requestCard),
    others: inbox.others.map(requestCard),
    pauses: inbox.pauses.map(pauseCard),
    recent: inbox.recent.map((d) => ({ ...d, detail: escapeTerminal(d.detail) })),
    problems: unread.map((id) =>
      escapeTerminal(`could not read run ${id} in time (is a worker polling its task queue?)`),
    ),
  };
}
