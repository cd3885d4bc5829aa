import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { decide, resumeRun } from '../client/decisions';
import type { SigningKey } from '../identity/keys';
import { DecisionSchema } from '../../shared/decision';
import { HitlError, UpdateRefusedError } from '../../shared/errors';
import { escapeTerminal } from '../../shared/render/escape';
import { formatZodError } from '../../shared/zod-format';

const Id = z.string().trim().min(1).max(200);

/**
 * A decision as the page posts it: the request and the hashes of what the card showed, so the decision binds what the
 * reviewer read; the approver is always the inbox's reviewer, never a field of the body.
 */
export const DecideBodySchema = z.strictObject({
  workflowId: Id,
  requestId: Id,
  decision: z.enum(['approve', 'reject', 'edit', 'respond']),
  argsHash: z.string().regex(/^[0-9a-f]{64}$/),
  effectHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  reason: z.string().max(4_000).optional(),
  message: z.string().max(8_000).optional(),
  args: z.record(z.string().max(100), z.unknown()).optional(),
});

/** An answer to a pause as the page posts it. */
export const ResumeBodySchema = z.strictObject({
  workflowId: Id,
  pauseId: Id,
  action: z.enum(['continue', 'stop', 'retry', 'skip', 'abort', 'approve', 'reject', 'edit']),
  reason: z.string().max(4_000).optional(),
  steps: z
    .array(z.strictObject({ tool: z.string().max(100), args: z.record(z.string().max(100), z.unknown()) }))
    .max(100)
    .optional(),
});

/** What the page is told after an action: done (with the run's receipt in words), or refused with the reason. */
export type ActionOutcome = { ok: true; text: string } | { ok: false; refused: boolean; reason: string };

/** Who signs, and where the messages go. */
export interface Signer {
  client: Client;
  reviewer: string;
  key: SigningKey;
}

/** Empty strings from a form mean "not given". */
function given(text: string | undefined): string | undefined {
  return text !== undefined && text.trim() !== '' ? text : undefined;
}

async function outcome(fn: () => Promise<string>): Promise<ActionOutcome> {
  try {
    return { ok: true, text: await fn() };
  } catch (err) {
    // The run's reason (not eligible, stale, already decided) goes back to the card; the page shows it as text.
    if (err instanceof UpdateRefusedError) return { ok: false, refused: true, reason: escapeTerminal(err.message) };
    if (err instanceof HitlError) return { ok: false, refused: false, reason: escapeTerminal(err.message) };
    throw err;
  }
}

/**
 * Signs a decision with the reviewer's key and sends it through the `decide` update.
 * @param signer - client, reviewer and key
 * @param body - parsed {@link DecideBodySchema}
 * @returns the receipt in words, or the run's refusal
 * @throws Error when Temporal cannot be reached (anything but a refusal or bad input)
 */
export async function decideAsReviewer(signer: Signer, body: z.infer<typeof DecideBodySchema>): Promise<ActionOutcome> {
  return outcome(async () => {
    const parsed = DecisionSchema.safeParse({
      requestId: body.requestId,
      decision: body.decision,
      approver: signer.reviewer,
      argsHash: body.argsHash,
      ...(body.effectHash !== undefined ? { effectHash: body.effectHash } : {}),
      ...(given(body.reason) !== undefined ? { reason: body.reason } : {}),
      ...(given(body.message) !== undefined ? { message: body.message } : {}),
      ...(body.args !== undefined ? { args: body.args } : {}),
    });
    if (!parsed.success) throw new HitlError(formatZodError(parsed.error));
    const receipt = await decide(signer.client, body.workflowId, parsed.data, { key: signer.key });
    const state = receipt.closed ? 'closed' : `still open: ${receipt.approvalsNeeded} more approval(s) needed`;
    return escapeTerminal(`${receipt.decision} by ${receipt.approver} (signed) recorded; request ${state}`);
  });
}

/**
 * Signs an answer to a pause with the reviewer's key and sends it through the `resume` update.
 * @param signer - client, reviewer and key
 * @param body - parsed {@link ResumeBodySchema}
 * @returns the answer in words, or the run's refusal
 * @throws Error when Temporal cannot be reached
 */
export async function resumeAsReviewer(signer: Signer, body: z.infer<typeof ResumeBodySchema>): Promise<ActionOutcome> {
  return outcome(async () => {
    const answered = await resumeRun(
      signer.client,
      body.workflowId,
      {
        pauseId: body.pauseId,
        action: body.action,
        by: signer.reviewer,
        ...(given(body.reason) !== undefined ? { reason: body.reason } : {}),
        ...(body.steps !== undefined ? { steps: body.steps } : {}),
      },
      { key: signer.key },
    );
    return escapeTerminal(`${answered.action} by ${signer.reviewer} (signed) recorded`);
  });
}
