import type { z } from 'zod';

/** A zod issue as far as messages need it. */
type Issue = Pick<z.core.$ZodIssue, 'path' | 'message'>;

/**
 * One clause per problem in a zod error, `path: message`, joined with `; `, for messages people read. The one
 * formatter of zod issues in the project: every place that refuses input says what was wrong the same way.
 * @param error - a zod error, or its issues
 * @returns e.g. `amountCents: Too big: expected number to be <=100000000; reason: Required`
 */
export function formatZodError(error: z.ZodError | readonly Issue[]): string {
  const issues = Array.isArray(error) ? (error as readonly Issue[]) : (error as z.ZodError).issues;
  return issues
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}
