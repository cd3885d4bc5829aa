// What Slack sends to an app's interactivity URL, built and signed as Slack does it (independently of the bridge's
// own code): `payload=<JSON>` form-encoded, `X-Slack-Request-Timestamp`, `X-Slack-Signature: v0=HMAC-SHA256`.
import { createHmac } from 'node:crypto';
import type { RecordedCall } from './slack-stand-in';

/** The signing secret of the tests' Slack app. */
export const TEST_SIGNING_SECRET = 'test-signing-secret-8f14e45fceea167a';

/** A request as it goes over the wire. */
export interface SlackRequest {
  body: string;
  timestamp: string;
  signature: string;
}

/**
 * Signs an interaction payload as Slack does.
 * @param payload - the payload object
 * @param options - `secret` (default the tests'), `at` (time of signing, ms; default now)
 */
export function signedSlackRequest(payload: unknown, options: { secret?: string; at?: number } = {}): SlackRequest {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(Math.floor((options.at ?? Date.now()) / 1000));
  const mac = createHmac('sha256', options.secret ?? TEST_SIGNING_SECRET)
    .update(`v0:${timestamp}:${body}`)
    .digest('hex');
  return { body, timestamp, signature: `v0=${mac}` };
}

/**
 * Posts a request to the bridge.
 * @returns the HTTP status and the body's text
 */
export async function postToBridge(url: string, req: SlackRequest): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/slack/actions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(req.timestamp !== '' ? { 'x-slack-request-timestamp': req.timestamp } : {}),
      ...(req.signature !== '' ? { 'x-slack-signature': req.signature } : {}),
    },
    body: req.body,
  });
  return { status: res.status, text: await res.text() };
}

/** The button with `actionId` in a message the stand-in received. */
export function buttonOf(call: RecordedCall, actionId: string): { value?: string; url?: string } {
  const blocks = call.body['blocks'] as {
    type: string;
    elements?: { action_id?: string; value?: string; url?: string }[];
  }[];
  for (const block of blocks) {
    const found = block.elements?.find((e) => e.action_id === actionId);
    if (found !== undefined) return found;
  }
  throw new Error(`no ${actionId} button in the message`);
}

/**
 * A `block_actions` payload: `user` pressed the button whose `value` is given.
 * @param responseUrl - where the bridge answers
 */
export function buttonPress(user: string, actionId: string, value: string | undefined, responseUrl: string): unknown {
  return {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), team_id: 'T0TEST' },
    api_app_id: 'A0TEST',
    token: 'deprecated-verification-token',
    trigger_id: `trigger-${Math.random().toString(36).slice(2)}`,
    team: { id: 'T0TEST', domain: 'test' },
    container: { type: 'message', channel_id: 'C0HITL', is_ephemeral: false },
    channel: { id: 'C0HITL', name: 'approvals' },
    response_url: responseUrl,
    actions: [
      {
        type: 'button',
        action_id: actionId,
        block_id: 'hitl_decide',
        ...(value !== undefined ? { value } : {}),
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}

/** A `view_submission` payload of the modal `view` (as `views.open` received it), with `text` typed in. */
export function modalSubmission(user: string, view: Record<string, unknown>, text: string): unknown {
  return {
    type: 'view_submission',
    user: { id: user, team_id: 'T0TEST' },
    team: { id: 'T0TEST' },
    view: {
      ...view,
      id: 'V0TEST',
      state: { values: { hitl_text: { text: { type: 'plain_text_input', value: text } } } },
    },
  };
}
