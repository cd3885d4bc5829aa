import { z } from 'zod';

/** The decisions a reviewer can take on an approval request. */
export const DecisionKind = z.enum(['approve', 'reject', 'edit']);

/**
 * A decision on one approval request: the payload of the `decision` signal and the `decide` update.
 *
 * `{ requestId, decision: 'approve' | 'reject' | 'edit', approver, reason?, args?, argsHash? }`
 * - `reason` is required for `reject`.
 * - `args` is required for `edit`: the full replacement arguments, validated by the tool's schema.
 * - `argsHash`, when given, must equal the pending request's hash: it proves the reviewer saw these exact arguments.
 */
export const DecisionSchema = z
  .strictObject({
    requestId: z.string().trim().min(1).max(200),
    decision: DecisionKind,
    approver: z.string().trim().min(1, 'approver is required').max(100),
    reason: z.string().trim().min(1).max(4_000).optional(),
    args: z.record(z.string(), z.unknown()).optional(),
    argsHash: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'argsHash must be 64 lowercase hex characters')
      .optional(),
  })
  .superRefine((d, ctx) => {
    if (d.decision === 'reject' && d.reason === undefined) {
      ctx.addIssue({ code: 'custom', path: ['reason'], message: 'a reject needs a reason' });
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

/**
 * One line per problem in a zod error, `path: message`, for messages people read.
 * @param error - a zod error
 */
export function formatZodError(error: z.ZodError): string {
  return error.issues
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}
