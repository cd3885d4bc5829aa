// Node-only: the reference to a request that a Slack button (its `value`) and a modal (its `private_metadata`) carry.
import { z } from 'zod';
import type { ApprovalRequest } from '../../shared/run-state';

/** The action ids of the buttons on a request's message, and the callback ids of the modals they open. */
export const ACTION_IDS = {
  approve: 'hitl_approve',
  reject: 'hitl_reject',
  respond: 'hitl_respond',
  edit: 'hitl_edit',
  inbox: 'hitl_inbox',
} as const;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * `{ w, r, h, v, e? }`: the workflow id, the request id, the hash of the arguments the message showed, the request's
 * revision then, and the hash of the effect it showed (when the request has one), so a decision from the button binds
 * what the reviewer read and nothing newer.
 */
export const RequestRefSchema = z.strictObject({
  w: z.string().min(1).max(1000),
  r: z.string().min(1).max(200),
  h: hex64,
  v: z.number().int().min(0).max(1_000_000),
  e: hex64.optional(),
});

/** A parsed {@link RequestRefSchema}. */
export type RequestRef = z.infer<typeof RequestRefSchema>;

/**
 * The reference to a request as it stands.
 * @param request - the request a message shows
 * @returns the reference its buttons carry
 */
export function refOf(request: ApprovalRequest): RequestRef {
  return {
    w: request.workflowId,
    r: request.requestId,
    h: request.argsHash,
    v: request.revision ?? 0,
    ...(request.effect !== undefined ? { e: request.effect.sha256 } : {}),
  };
}

/**
 * Parses a reference from its JSON text (a button's value, or the `ref` of a modal's metadata).
 * @param text - JSON from Slack (signed by Slack, first written by this bridge)
 * @returns the reference, or undefined when it is not one
 */
export function parseRequestRef(text: string): RequestRef | undefined {
  try {
    const parsed = RequestRefSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
