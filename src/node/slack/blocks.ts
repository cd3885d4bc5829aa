// Node-only: the Block Kit of the bridge's messages, built from a notification. Every string from a model, a tool or a
// client goes through the mrkdwn escaping; every text is cut to Slack's limits.
import { relativeTime } from '../../shared/render/relative-time';
import type { Notification } from '../../shared/activity-types';
import { splitAlternatives } from '../../shared/model/alternatives';
import { timeoutConsequence } from '../../shared/render/approval';
import { displayJson } from '../../shared/render/escape';
import { pauseFacts, pauseTitle } from '../../shared/render/pause';
import type { ApprovalRequest, RunPause } from '../../shared/run-state';
import { clip, escapeSlack, escapeSlackLines, partsForSlack, plainText, slackCode, SLACK_LIMITS } from './mrkdwn';
import { ACTION_IDS, refOf } from './request-ref';

/** A Block Kit block, as the Web API takes it. */
export interface SlackBlock {
  type: string;
  block_id?: string;
  [key: string]: unknown;
}

/** A message: blocks, and the plain text Slack shows in notifications and where blocks cannot be shown. */
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

/** What the blocks need besides the notification. */
export interface MessageOptions {
  /** Slack user ids by normalised name, for mentions (`<@U…>`). */
  slackIds: ReadonlyMap<string, string>;
  /** The web inbox's address, for the Edit button. */
  inboxUrl?: string;
  /** Now, for relative times (default: the clock). */
  now?: Date;
}

const section = (text: string): SlackBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: clip(text, SLACK_LIMITS.sectionText) },
});
const header = (text: string): SlackBlock => ({
  type: 'header',
  text: { type: 'plain_text', text: plainText(text, SLACK_LIMITS.headerText) },
});
const context = (text: string): SlackBlock => ({
  type: 'context',
  elements: [{ type: 'mrkdwn', text: clip(text, SLACK_LIMITS.sectionText) }],
});
const field = (label: string, value: string): string => `*${label}:* ${value}`;

/** The people as mentions where the settings know their Slack id, else as escaped names. */
function mentions(names: readonly string[], slackIds: ReadonlyMap<string, string>): string {
  if (names.length === 0) return 'anyone who may decide';
  return names.map((n) => (slackIds.has(n) ? `<@${slackIds.get(n)}>` : escapeSlack(n))).join(', ');
}

function riskText(request: ApprovalRequest): string {
  const c = request.classification;
  const kind =
    c === undefined
      ? 'unclassified tool (fail closed)'
      : `${c.reversibility.replace('_', ' ')}, blast radius ${c.blastRadius.replace('_', ' ')}` +
        (c.externalEffects.length > 0 ? `, external: ${c.externalEffects.join(', ')}` : '') +
        (c.financialImpact === 'none' ? '' : `, financial (${c.financialImpact})`);
  return escapeSlack(`${kind}; ${request.gate} gate because ${request.because}`);
}

/** The facts of a request, in plain words, as mrkdwn sections. */
function requestSections(n: Notification, request: ApprovalRequest, options: MessageOptions): SlackBlock[] {
  const now = options.now ?? new Date();
  const why = splitAlternatives(request.reasoning).reasoning;
  const deciders = n.to.length > 0 ? n.to : request.eligibleApprovers;
  const approvedBy = request.approvals.map((a) => `${a.approver}${a.via !== undefined ? ` via ${a.via}` : ''}`);
  const facts = [
    field('Tool', slackCode(request.tool)),
    field('Goal', escapeSlack(request.goal)),
    field('Arguments', slackCode(displayJson(request.args))),
    field('Touches', request.effect !== undefined ? escapeSlack(request.effect.lines.join('; ')) : 'not resolved'),
    field('Risk', riskText(request)),
    field(
      'Deadline',
      `${escapeSlack(request.deadline)} (${relativeTime(request.deadline, now.getTime())}); then ${escapeSlack(timeoutConsequence(request))}`,
    ),
    field(
      'Approvals',
      `${request.approvals.length} of ${request.quorum}` +
        (approvedBy.length > 0 ? ` (${escapeSlack(approvedBy.join(', '))})` : ''),
    ),
    field('Who may decide', mentions(deciders, options.slackIds)),
  ];
  return [
    section(`*${escapeSlack(request.summary)}*`),
    section(field('Why (the model)', why !== '' ? escapeSlackLines(why) : '_the model gave no reasoning_')),
    section(facts.join('\n')),
  ];
}

/** The buttons of a request still open; none when the reference is over Slack's limit for a value. */
function requestActions(request: ApprovalRequest, inboxUrl: string | undefined): SlackBlock[] {
  const value = JSON.stringify(refOf(request));
  if (value.length > SLACK_LIMITS.buttonValue) {
    return [context('This request cannot be decided from Slack (its ids are too long): use `hitl` or the inbox.')];
  }
  const button = (text: string, actionId: string, style?: 'primary' | 'danger'): Record<string, unknown> => ({
    type: 'button',
    action_id: actionId,
    text: { type: 'plain_text', text },
    value,
    ...(style !== undefined ? { style } : {}),
  });
  const elements = [
    button('Approve', ACTION_IDS.approve, 'primary'),
    button('Reject', ACTION_IDS.reject),
    button('Respond', ACTION_IDS.respond),
  ];
  if (inboxUrl !== undefined) {
    elements.push({
      type: 'button',
      action_id: ACTION_IDS.edit,
      text: { type: 'plain_text', text: 'Edit' },
      url: inboxUrl,
    });
  }
  return [{ type: 'actions', block_id: 'hitl_decide', elements }];
}

const HEADLINES: Partial<Record<Notification['kind'], string>> = {
  approval_requested: 'Approval needed',
  soft_gate_opened: 'Runs unless vetoed',
  reminder: 'Reminder: approval needed',
  escalated: 'Escalated: approval needed',
  quorum_progress: 'More approvals needed',
};

/**
 * The message of an open request (requested, soft gate, reminder, escalated, quorum progress): the request in plain
 * words and its buttons.
 * @param n - a notification with its request
 * @param options - mentions, the inbox, now
 * @returns the message
 */
export function requestMessage(n: Notification & { request: ApprovalRequest }, options: MessageOptions): SlackMessage {
  const request = n.request;
  const headline = HEADLINES[n.kind] ?? 'Approval request';
  return {
    text: clip(`${headline}: ${escapeSlack(request.summary)}`, SLACK_LIMITS.sectionText),
    blocks: [
      header(`${headline}: ${request.tool}`),
      ...requestSections(n, request, options),
      ...requestActions(request, options.inboxUrl),
      context(`run ${slackCode(request.workflowId)} · request ${slackCode(request.requestId)}`),
    ],
  };
}

/**
 * The message of a closed request: what it was and how it closed, without buttons.
 * @param n - a `request_closed` notification
 * @param options - mentions, now
 * @returns the message
 */
export function closedMessage(n: Notification, options: MessageOptions): SlackMessage {
  const outcome = n.closure?.text ?? n.text;
  const label = n.closure !== undefined ? n.closure.kind : 'closed';
  const blocks: SlackBlock[] = [header(`Closed (${label})${n.request !== undefined ? `: ${n.request.tool}` : ''}`)];
  if (n.request !== undefined) blocks.push(...requestSections(n, n.request, options));
  blocks.push(section(field('Outcome', escapeSlack(outcome))));
  blocks.push(context(`run ${slackCode(n.workflowId)} · request ${slackCode(n.requestId)}`));
  return { text: clip(`Closed (${label}): ${escapeSlack(outcome)}`, SLACK_LIMITS.sectionText), blocks };
}

/**
 * The message of a paused run: the pause's detail and the answers it takes; a button to the inbox when there is one
 * (pauses are answered there or with `hitl resume`, not with a button here).
 * @param n - a `run_paused` notification
 * @param options - mentions, the inbox, now
 * @returns the message
 */
export function pauseMessage(n: Notification, options: MessageOptions): SlackMessage {
  const pause: RunPause | undefined = n.pause;
  const now = options.now ?? new Date();
  const title = pause !== undefined ? pauseTitle(pause) : 'paused';
  const blocks: SlackBlock[] = [header(`Run paused: ${title}`)];
  if (n.goal !== undefined) blocks.push(section(field('Goal', escapeSlack(n.goal))));
  if (pause !== undefined) {
    blocks.push(section(escapeSlackLines(pause.detail)));
    const facts = pauseFacts(pause).map(([label, value]) => field(label, partsForSlack(value)));
    facts.push(field('Answer by', `${relativeTime(pause.deadline, now.getTime())}`));
    facts.push(field('Who may answer', mentions(n.to.length > 0 ? n.to : pause.eligible, options.slackIds)));
    blocks.push(section(facts.join('\n')));
  } else {
    blocks.push(section(escapeSlack(n.text)));
  }
  const answer = `hitl resume ${n.workflowId} <action> --as <you>`;
  if (options.inboxUrl !== undefined) {
    blocks.push({
      type: 'actions',
      block_id: 'hitl_pause',
      elements: [
        {
          type: 'button',
          action_id: ACTION_IDS.inbox,
          text: { type: 'plain_text', text: 'Open the inbox' },
          url: options.inboxUrl,
        },
      ],
    });
  }
  blocks.push(context(`Answer in the inbox or with ${slackCode(answer)}`));
  return { text: clip(`Run paused (${title}): ${escapeSlack(n.text)}`, SLACK_LIMITS.sectionText), blocks };
}

/**
 * The message for any notification: an open request's, a closed request's or a pause's.
 * @param n - the notification
 * @param options - mentions, the inbox, now
 * @returns the message
 */
export function messageFor(n: Notification, options: MessageOptions): SlackMessage {
  if (n.kind === 'run_paused') return pauseMessage(n, options);
  if (n.kind === 'request_closed') return closedMessage(n, options);
  if (n.request !== undefined) return requestMessage({ ...n, request: n.request }, options);
  // Older runs send a sentence only.
  return { text: clip(escapeSlack(n.text), SLACK_LIMITS.sectionText), blocks: [section(escapeSlack(n.text))] };
}
