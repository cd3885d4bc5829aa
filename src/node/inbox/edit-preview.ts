import { z } from 'zod';
import type { PolicyBook } from '../policy-book';
import { resolveGate } from '../../shared/policy/evaluate';
import type { GateKind } from '../../shared/run-state';
import { findTool, toolCatalog } from '../../shared/tools/catalog';

/** The JSON Schema of each catalog tool's arguments (zod 4's `z.toJSONSchema`, input side), by tool name. */
export function toolJsonSchemas(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, tool] of toolCatalog) {
    out[name] = z.toJSONSchema(tool.parameters, { io: 'input', unrepresentable: 'any' });
  }
  return out;
}

/** Which request an edit is previewed for: its tool and the policy the run pinned. */
export const PreviewRequestSchema = z.strictObject({
  tool: z.string().min(1).max(100),
  policyVersion: z.string().min(1).max(200),
  policySha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  args: z.record(z.string().max(100), z.unknown()),
});

/** What the reviewer sees before submitting an edit. */
export interface EditPreview {
  /** The tool's schema accepts the arguments. */
  valid: boolean;
  /** Each problem with the arguments, `field: message`. */
  errors: string[];
  /** What the edited call would do, in words (when valid). */
  summary?: string;
  /** The gate the edited call would get under the run's policy (when valid and the policy is known here). */
  gate?: { kind: GateKind; because: string; groups: string[]; quorum: number };
  /** Why no gate is shown although the arguments are valid. */
  note?: string;
}

/**
 * Checks edited arguments against the tool's schema and resolves the gate the edited call would get under the run's
 * policy, found in `book` by its SHA-256 (else its version). The run gates the edit again itself: this is a preview.
 * @param book - the policies this host knows (`--policy`, `HITL_POLICY`, else the built-in default)
 * @param input - tool, the run's policy version and SHA-256, and the edited arguments
 * @returns the preview; never throws for bad arguments (they are listed in `errors`)
 */
export function previewEdit(book: PolicyBook, input: z.infer<typeof PreviewRequestSchema>): EditPreview {
  const tool = findTool(input.tool);
  if (tool === undefined) return { valid: false, errors: [`the catalog has no tool ${input.tool}`] };
  const parsed = tool.parameters.safeParse(input.args);
  if (!parsed.success) {
    return {
      valid: false,
      errors: parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'arguments'}: ${i.message}`),
    };
  }
  const summary = tool.describe(parsed.data);
  const pin =
    book.list().find((p) => input.policySha256 !== undefined && p.sha256 === input.policySha256) ??
    (input.policySha256 === undefined ? book.list().find((p) => p.policy.version === input.policyVersion) : undefined);
  if (pin === undefined) {
    return {
      valid: true,
      errors: [],
      summary,
      note: `policy ${input.policyVersion} is not known here (hitl inbox --policy): the run will gate the edit itself`,
    };
  }
  const gate = resolveGate(
    pin.policy,
    { name: tool.name, classification: tool.classification },
    parsed.data,
    // An edit that needs hard approval is the common case; auto_logged counts only matter for calls that run at once.
    { autoLoggedCount: 0 },
  );
  return {
    valid: true,
    errors: [],
    summary,
    gate: { kind: gate.kind, because: gate.because, groups: gate.stages[0]?.groups ?? [], quorum: gate.quorum },
  };
}
