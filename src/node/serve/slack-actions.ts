// Node-only: what the bridge does with a verified Slack interaction. Every decision goes through the one decision path
// (`decide`), signed by the bridge's key for the person the Slack user is mapped to; the workflow checks that the
// bridge may sign for them, as it checks everything else.
import type { Client } from '@temporalio/client';
import type { Decision } from '../../shared/decision';
import { InputError } from '../../shared/errors';
import { normalizeName } from '../../shared/identity/names';
import type { DecisionReceipt } from '../../shared/run-state';
import { decide } from '../client/decisions';
import type { SigningKey } from '../identity/keys';
import { logger } from '../logger';
import type { NotifySettings } from '../notify/settings';
import { decisionModal, MODAL_INPUT, parseModalMetadata } from '../slack/modal';
import { clip, escapeSlack } from '../slack/mrkdwn';
import { ACTION_IDS, parseRequestRef, type RequestRef } from '../slack/request-ref';
import { slackWebClient } from '../slack/web-client';
import type { BlockActions, ViewSubmission } from './slack-payload';

const log = logger.child({ component: 'slack-bridge' });

/** What the bridge needs. */
export interface SlackBridgeOptions {
  /** A connected Temporal client. */
  client: Client;
  /** The bridge's own key (registered with `signs-for=…`). */
  key: SigningKey;
  /** The operator's notification settings: `people.<name>.slack` maps Slack users to people. */
  settings: NotifySettings;
  /** The bot token and Web API base URL, for `views.open` (the modals). Without it Reject and Respond cannot open. */
  slack?: { token: string; apiUrl?: string };
  /** Response URLs the bridge posts to must start with one of these (default `https://hooks.slack.com/`). */
  responseUrlPrefixes?: readonly string[];
  /** How long a modal submission waits for the workflow before Slack is answered anyway, in ms (default 2500). */
  modalBudgetMs?: number;
}

/** What to answer Slack on the HTTP request: an empty 200, or a JSON body (a modal's `response_action`). */
export type SlackAck = { body?: Record<string, unknown> };

/** The bridge's answer to one interaction: the acknowledgement now, and the work that follows it. */
export interface SlackHandling {
  ack: SlackAck;
  /** Settles when the follow-up (the decision, the answer in Slack) is done; never rejects. */
  done: Promise<void>;
}

const DONE: Promise<void> = Promise.resolve();
const NOT_MAPPED =
  'You are not mapped to an approver: ask the operator to add your Slack user id under people in the notification settings.';

/**
 * The person a Slack user is mapped to (`people.<name>.slack`), normalised.
 * @param settings - the notification settings
 * @param slackUserId - the user id from the payload
 * @returns the person, or undefined when no one, or more than one, is mapped to the user
 */
export function personForSlackUser(settings: NotifySettings, slackUserId: string): string | undefined {
  const names = Object.entries(settings.people)
    .filter(([, p]) => p.slack === slackUserId)
    .map(([name]) => normalizeName(name));
  return new Set(names).size === 1 ? names[0] : undefined;
}

/** The outcome of a decision in words for the reviewer; refusals carry the workflow's reason. */
function outcomeText(receipt: DecisionReceipt, as: string): string {
  const done = { approve: 'Approved', reject: 'Rejected', edit: 'Edited', respond: 'Answered' }[receipt.decision];
  const rest = receipt.closed ? 'the request is closed' : `${receipt.approvalsNeeded} more approval(s) needed`;
  return `${done} as ${as}: ${rest}.`;
}

/** The Slack bridge: the handlers of `block_actions` and `view_submission`. */
export class SlackBridge {
  readonly #prefixes: readonly string[];

  constructor(private readonly options: SlackBridgeOptions) {
    this.#prefixes = options.responseUrlPrefixes ?? ['https://hooks.slack.com/'];
  }

  /**
   * Handles a button press: Approve decides at once; Reject and Respond open a modal; Edit and Inbox are links.
   * @param payload - the verified payload
   * @returns an empty acknowledgement, and the follow-up
   */
  onBlockActions(payload: BlockActions): SlackHandling {
    const action = payload.actions[0];
    if (action === undefined || action.action_id === ACTION_IDS.edit || action.action_id === ACTION_IDS.inbox) {
      return { ack: {}, done: DONE };
    }
    const reply = (text: string) => this.#respond(payload.response_url, text);
    const person = personForSlackUser(this.options.settings, payload.user.id);
    if (person === undefined) return { ack: {}, done: reply(NOT_MAPPED) };
    const ref = action.value !== undefined ? parseRequestRef(action.value) : undefined;
    if (ref === undefined) return { ack: {}, done: reply('This button does not name a request.') };
    const work = async (): Promise<void> => {
      if (action.action_id === ACTION_IDS.approve) {
        await reply(await this.#decide(ref, person, { decision: 'approve' }));
      } else if (action.action_id === ACTION_IDS.reject || action.action_id === ACTION_IDS.respond) {
        await this.#openModal(action.action_id === ACTION_IDS.reject ? 'reject' : 'respond', ref, payload, reply);
      }
    };
    return { ack: {}, done: work().catch((err: unknown) => log.error({ err }, 'a Slack action failed')) };
  }

  /**
   * Handles a submitted Reject or Respond modal: decides within the modal budget and answers a refusal on the modal
   * (`response_action: errors`) with the workflow's reason; past the budget the modal closes and the outcome goes to
   * the conversation.
   * @param payload - the verified payload
   * @returns the acknowledgement (after up to the budget), and the follow-up
   */
  async onViewSubmission(payload: ViewSubmission): Promise<SlackHandling> {
    const { view } = payload;
    const kind =
      view.callback_id === ACTION_IDS.reject
        ? 'reject'
        : view.callback_id === ACTION_IDS.respond
          ? 'respond'
          : undefined;
    const metadata = parseModalMetadata(view.private_metadata);
    if (kind === undefined || metadata === undefined) return { ack: {}, done: DONE };
    const fail = (text: string): SlackHandling => ({
      ack: { body: { response_action: 'errors', errors: { [MODAL_INPUT.block]: clip(text, 150) } } },
      done: DONE,
    });
    const person = personForSlackUser(this.options.settings, payload.user.id);
    if (person === undefined) return fail(NOT_MAPPED);
    const text = view.state.values[MODAL_INPUT.block]?.[MODAL_INPUT.action]?.value?.trim() ?? '';
    if (text === '') return fail(kind === 'reject' ? 'A reject needs a reason.' : 'Write a message for the agent.');
    const extras: Pick<Decision, 'decision' | 'reason' | 'message'> =
      kind === 'reject' ? { decision: 'reject', reason: text } : { decision: 'respond', message: text };
    const outcome = this.#decideOutcome(metadata.ref, person, extras);
    const budget = new Promise<'late'>((resolve) =>
      setTimeout(() => resolve('late'), this.options.modalBudgetMs ?? 2500).unref(),
    );
    const first = await Promise.race([outcome, budget]);
    if (first !== 'late' && !first.ok) return fail(first.text);
    const done = outcome.then((o) => this.#respond(metadata.u, o.text));
    return { ack: {}, done };
  }

  /** Decides and says how it went, in Slack's words; never throws. */
  async #decide(
    ref: RequestRef,
    person: string,
    extras: Pick<Decision, 'decision' | 'reason' | 'message'>,
  ): Promise<string> {
    return (await this.#decideOutcome(ref, person, extras)).text;
  }

  async #decideOutcome(
    ref: RequestRef,
    person: string,
    extras: Pick<Decision, 'decision' | 'reason' | 'message'>,
  ): Promise<{ ok: boolean; text: string }> {
    const decision: Decision = {
      requestId: ref.r,
      approver: person,
      argsHash: ref.h,
      ...(ref.e !== undefined ? { effectHash: ref.e } : {}),
      ...extras,
    };
    try {
      const receipt = await decide(this.options.client, ref.w, decision, { key: this.options.key });
      log.info({ workflowId: ref.w, requestId: ref.r, person, decision: extras.decision }, 'decided from Slack');
      return { ok: true, text: outcomeText(receipt, `${person}, via ${this.options.key.name}`) };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      log.info({ workflowId: ref.w, requestId: ref.r, person, reason }, 'a decision from Slack was refused');
      const prefix = err instanceof InputError ? 'Refused' : 'Could not reach the run';
      return { ok: false, text: `${prefix}: ${reason}` };
    }
  }

  async #openModal(
    kind: 'reject' | 'respond',
    ref: RequestRef,
    payload: BlockActions,
    reply: (text: string) => Promise<void>,
  ): Promise<void> {
    const { slack } = this.options;
    if (slack === undefined || payload.trigger_id === undefined) {
      return reply(`The bridge cannot open a form here: ${kind} with hitl or the inbox.`);
    }
    const url =
      payload.response_url !== undefined && this.#allowed(payload.response_url) ? payload.response_url : undefined;
    try {
      await slackWebClient({
        token: slack.token,
        ...(slack.apiUrl !== undefined ? { apiUrl: slack.apiUrl } : {}),
        timeoutMs: 2500,
      }).views.open({
        trigger_id: payload.trigger_id,
        view: decisionModal(kind, ref, url),
      });
    } catch (err) {
      await reply(`Could not open the form: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #allowed(url: string): boolean {
    return this.#prefixes.some((p) => url.startsWith(p));
  }

  /** Tells the person who pressed the button (ephemeral), through the payload's response URL; never throws. */
  async #respond(url: string | undefined, text: string): Promise<void> {
    if (url === undefined || !this.#allowed(url)) {
      if (url !== undefined) log.warn({ url }, 'not answering to a response URL outside the allowed prefixes');
      return;
    }
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          response_type: 'ephemeral',
          replace_original: false,
          text: clip(escapeSlack(text), 3000),
        }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) log.warn({ status: res.status }, 'Slack refused the answer to a response URL');
    } catch (err) {
      log.warn({ err }, 'could not answer to a Slack response URL');
    }
  }
}
