// Node-only: a notification as plain text, for email and the log.
import type { Notification, NotificationKind } from '../../shared/activity-types';
import { renderApprovalRequest } from '../../shared/render/approval';
import { escapeTerminal as t, shellWord } from '../../shared/render/escape';
import { renderPause, resumeCommands } from '../../shared/render/pause';

const HEADLINES: Record<NotificationKind, string> = {
  approval_requested: 'Approval needed',
  soft_gate_opened: 'Will run unless rejected',
  reminder: 'Reminder: still waiting',
  escalated: 'Escalated to you',
  quorum_progress: 'Approval counted, more needed',
  request_closed: 'Closed',
  run_paused: 'Run paused',
};

/**
 * A notification's email subject: what happened, then the request's summary, one line of at most 200 characters.
 * @example notificationSubject(n) // '[hitl] Approval needed: Refund $49.99 to customer 42'
 */
export function notificationSubject(n: Notification): string {
  const about = n.request?.summary ?? n.pause?.detail ?? n.text;
  const line = `[hitl] ${HEADLINES[n.kind]}: ${t(about)}`;
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/**
 * A notification as plain text: the sentence, the request (or pause) with every fact a reviewer needs, and how to
 * decide it. Strings from the run are escaped ({@link t}), so no line is one the run wrote.
 * @param n - the notification
 * @param inboxUrl - the web inbox's address, when there is one
 */
export function notificationText(n: Notification, inboxUrl?: string): string {
  const lines = [t(n.text), ''];
  if (n.request !== undefined) {
    const r = n.request;
    lines.push(renderApprovalRequest(r), '');
    if (n.kind === 'request_closed') {
      lines.push(`Outcome: ${t(n.closure?.text ?? n.text)}. Nothing more to decide.`);
    } else {
      const target = `${shellWord(r.workflowId)} ${shellWord(r.requestId)}`;
      lines.push(
        'To decide:',
        `  npx hitl approve ${target} --as YOUR_NAME`,
        `  npx hitl reject ${target} --as YOUR_NAME --reason "why"`,
        `  npx hitl show ${shellWord(r.workflowId)}`,
      );
    }
  } else if (n.pause !== undefined) {
    if (n.goal !== undefined) lines.push(`Goal: ${t(n.goal)}`);
    lines.push(renderPause(n.pause), '', resumeCommands(n.workflowId, n.pause));
  }
  if (inboxUrl !== undefined && n.kind !== 'request_closed') lines.push('', `Or decide in the inbox: ${inboxUrl}`);
  lines.push('', `Run: ${t(n.workflowId)}`);
  return lines.join('\n');
}
