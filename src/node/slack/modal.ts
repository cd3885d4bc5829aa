// Node-only: the modal that Reject and Respond open, and the metadata it carries back on submission.
import { z } from 'zod';
import type { SlackBlock } from './blocks';
import { SLACK_LIMITS } from './mrkdwn';
import { ACTION_IDS, RequestRefSchema, type RequestRef } from './request-ref';

/** The block and action ids of the modal's one input. */
export const MODAL_INPUT = { block: 'hitl_text', action: 'text' } as const;

/** What a modal carries in `private_metadata`: the request, and where to tell the reviewer the outcome. */
export const ModalMetadataSchema = z.strictObject({
  ref: RequestRefSchema,
  /** The `response_url` of the button press that opened the modal (absent when it did not fit). */
  u: z.string().url().max(1000).optional(),
});

/** Parsed {@link ModalMetadataSchema}. */
export type ModalMetadata = z.infer<typeof ModalMetadataSchema>;

/** A modal view, as `views.open` takes it. */
export interface SlackModal {
  type: 'modal';
  callback_id: string;
  title: { type: 'plain_text'; text: string };
  submit: { type: 'plain_text'; text: string };
  close: { type: 'plain_text'; text: string };
  private_metadata: string;
  blocks: SlackBlock[];
}

/**
 * The modal for a reject (the reason, which the agent reads) or a respond (a message to the model; nothing runs).
 * @param kind - `reject` or `respond`
 * @param ref - the request the button named
 * @param responseUrl - the button press's `response_url`, to answer the outcome in the conversation
 * @returns the view to open
 */
export function decisionModal(kind: 'reject' | 'respond', ref: RequestRef, responseUrl?: string): SlackModal {
  const withUrl = JSON.stringify({ ref, ...(responseUrl !== undefined ? { u: responseUrl } : {}) });
  const metadata = withUrl.length <= SLACK_LIMITS.privateMetadata ? withUrl : JSON.stringify({ ref });
  const reject = kind === 'reject';
  return {
    type: 'modal',
    callback_id: reject ? ACTION_IDS.reject : ACTION_IDS.respond,
    title: { type: 'plain_text', text: reject ? 'Reject the request' : 'Respond to the agent' },
    submit: { type: 'plain_text', text: reject ? 'Reject' : 'Send' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: metadata,
    blocks: [
      {
        type: 'input',
        block_id: MODAL_INPUT.block,
        label: { type: 'plain_text', text: reject ? 'Why? (the agent reads it)' : 'Your message to the agent' },
        element: {
          type: 'plain_text_input',
          action_id: MODAL_INPUT.action,
          multiline: true,
          max_length: reject ? 4000 : 3000,
        },
      },
    ],
  };
}

/**
 * Reads a modal's metadata back.
 * @param text - the view's `private_metadata`
 * @returns the metadata, or undefined when it is not this bridge's
 */
export function parseModalMetadata(text: string): ModalMetadata | undefined {
  try {
    const parsed = ModalMetadataSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
