import { z } from 'zod';
import { normalizeName } from './identity/names';
import { SignatureSchema } from './identity/signatures';
import { formatZodError } from './zod-format';
import { MAX_TOOL_ARGUMENT_BYTES } from './model/limits';
import { utf8Length } from './hash';

/** A person's name in a message: at most 100 characters, normalised (NFKC, case-folded) for every comparison. */
const PersonName = (what: string) => z.string().trim().min(1, `${what} is required`).max(100).transform(normalizeName);

/** Bytes of a value as JSON, or `Infinity` when it cannot be written as JSON (a cycle, nesting too deep). */
function jsonBytes(value: unknown): number {
  try {
    return utf8Length(JSON.stringify(value) ?? '');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * Tool arguments a person sends (an edit, a plan step): an object of at most {@link MAX_TOOL_ARGUMENT_BYTES} bytes as
 * JSON, the same limit a model's arguments have; the tool's own schema checks the rest.
 */
const PersonArgs = z
  .record(z.string().max(100), z.unknown())
  .refine((args) => jsonBytes(args) <= MAX_TOOL_ARGUMENT_BYTES, {
    message: `the arguments are over the limit of ${MAX_TOOL_ARGUMENT_BYTES} bytes as JSON`,
  });

/**
 * The decisions a reviewer can take on an approval request: `approve`, `reject` (with a reason), `edit` (approve new
 * arguments) and `respond` (send feedback to the model without running the call, as LangGraph's "respond" and
 * HumanLayer's reject-with-feedback do).
 */
export const DecisionKind = z.enum(['approve', 'reject', 'edit', 'respond']);

/**
 * A decision on one approval request.
 *
 * `{ requestId, decision, approver, argsHash, effectHash?, reason?, message?, args?, signature? }`
 * - `argsHash` is the hash of the arguments the reviewer saw; a decision whose hash does not match the pending request
 *   is refused as stale. `hitl` fills it in. `effectHash` likewise binds the decision to what the call will touch as
 *   the request shows it (the recipients of an email, an invoice's balance), where the request has one.
 * - `reason` is required for `reject`; `message` for `respond`; `args` (the full replacement arguments, validated by
 *   the tool's schema) for `edit`.
 * - `signature` proves who decided (see `SignatureSchema`); a policy with `signatures: required` refuses a decision
 *   without one. `approver` is normalised (NFKC, case-folded).
 */
export const DecisionSchema = z
  .strictObject({
    requestId: z.string().trim().min(1).max(200),
    decision: DecisionKind,
    approver: PersonName('approver'),
    argsHash: z.string().regex(/^[0-9a-f]{64}$/, 'argsHash must be the 64 hex characters of the pending request'),
    effectHash: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'effectHash must be 64 hex characters')
      .optional(),
    reason: z.string().trim().min(1).max(4_000).optional(),
    message: z.string().trim().min(1).max(8_000).optional(),
    args: PersonArgs.optional(),
    signature: SignatureSchema.optional(),
  })
  .superRefine((d, ctx) => {
    if (d.decision === 'reject' && d.reason === undefined) {
      ctx.addIssue({ code: 'custom', path: ['reason'], message: 'a reject needs a reason' });
    }
    if (d.decision === 'respond' && d.message === undefined) {
      ctx.addIssue({ code: 'custom', path: ['message'], message: 'a respond needs a message for the model' });
    }
    if (d.decision === 'edit' && d.args === undefined) {
      ctx.addIssue({ code: 'custom', path: ['args'], message: 'an edit needs the new arguments in args' });
    }
    if (d.decision !== 'edit' && d.args !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['args'], message: `args only goes with an edit, not a ${d.decision}` });
    }
  });

/** A parsed decision. */
export type Decision = z.infer<typeof DecisionSchema>;

/** Several decisions in one message, applied together: `{ decisions: [Decision, …] }` (at most 100). */
export const DecisionBatchSchema = z.strictObject({ decisions: z.array(DecisionSchema).min(1).max(100) });

/** The payload of the `decision` signal and the `decide` update: one decision, or a batch. */
export type DecisionMessage = Decision | z.infer<typeof DecisionBatchSchema>;

/**
 * Parses a decision message: a batch when it has a `decisions` key, else a single decision.
 * @param payload - untrusted input
 * @returns the decisions in order, or the reason the payload is malformed
 */
export function parseDecisionMessage(
  payload: unknown,
): { ok: true; decisions: Decision[] } | { ok: false; reason: string } {
  const isBatch = payload !== null && typeof payload === 'object' && 'decisions' in payload;
  if (isBatch) {
    const parsed = DecisionBatchSchema.safeParse(payload);
    return parsed.success
      ? { ok: true, decisions: parsed.data.decisions }
      : { ok: false, reason: `malformed decision batch: ${formatZodError(parsed.error)}` };
  }
  const parsed = DecisionSchema.safeParse(payload);
  return parsed.success
    ? { ok: true, decisions: [parsed.data] }
    : { ok: false, reason: `malformed decision: ${formatZodError(parsed.error)}` };
}

/**
 * An answer to a pause: `{ pauseId, action, by, reason?, steps?, signature? }`. `action` must be one the pause offers;
 * `steps` (the full replacement plan, each `{ tool, args }`) goes with `edit` of a plan under review.
 */
export const ResumeSchema = z.strictObject({
  pauseId: z.string().trim().min(1).max(200),
  action: z.enum(['continue', 'stop', 'retry', 'skip', 'abort', 'approve', 'reject', 'edit']),
  by: PersonName('by'),
  signature: SignatureSchema.optional(),
  reason: z.string().trim().min(1).max(4_000).optional(),
  steps: z
    .array(z.strictObject({ tool: z.string().min(1).max(100), args: PersonArgs }))
    .max(100)
    .optional(),
});

/** A parsed answer to a pause. */
export type ResumeRequest = z.infer<typeof ResumeSchema>;

/** Who stops a run and why: the payload of the `stop` update, `{ by, reason, signature? }`. */
export const StopSchema = z.strictObject({
  by: PersonName('by'),
  reason: z.string().trim().min(1, 'a stop needs a reason').max(4_000),
  signature: SignatureSchema.optional(),
});

/** A parsed stop request. */
export type StopRequest = z.infer<typeof StopSchema>;
