import type { z } from 'zod';

/**
 * How far an action can be undone. `partially_reversible` actions keep a before-image so a person can undo them.
 * Terms after the agent-safety literature's "reversibility" axis (e.g. the OpenAI Agents SDK's `needsApproval` guidance).
 */
export type Reversibility = 'reversible' | 'partially_reversible' | 'irreversible';

/** How much one call can touch: nothing (a read), one record, one customer's whole footprint, or many customers. */
export type BlastRadius = 'none' | 'single_record' | 'customer' | 'many_customers';

/** Risk classification carried by every tool; the gate is chosen from it. */
export interface ToolClassification {
  /** Whether the effect can be undone. */
  reversibility: Reversibility;
  /** How much one call can touch. */
  blastRadius: BlastRadius;
  /** Effects outside our own database (emails, payments to a card network). Empty for none. */
  externalEffects: readonly string[];
  /** Whether the call moves money. `refund` moves money out of the business. */
  financialImpact: 'none' | 'refund';
}

/**
 * A tool, as data: what the model sees (name, description, zod parameters), what the gate reads (classification),
 * what a reviewer reads (`describe`), and which activity runs it.
 *
 * `describe` runs in workflow code: it must be a pure function of the arguments.
 */
export interface ToolDefinition<S extends z.ZodType = z.ZodType, N extends string = string, P extends string = string> {
  /** Tool name the model calls, snake_case. Also the activity type that executes it. */
  name: N;
  /** One or two sentences for the model. */
  description: string;
  /** zod schema of the arguments; parsed in the workflow before anything runs. */
  parameters: S;
  /** Risk classification. */
  classification: ToolClassification;
  /**
   * Plain-English summary of one call, for reviewers, the Web UI and activity summaries.
   * @param args - arguments already parsed by `parameters`
   */
  describe(args: z.infer<S>): string;
  /**
   * Activity type of a context refresh that runs after approval and before execution (e.g. re-reading what is still
   * refundable after a long wait). When it answers `ok: false` the call does not run and the model is told why.
   * Typed: a name that no worker registers fails `tsc` (see `PrecheckActivities`) and the worker's start.
   */
  precheck?: P;
}

/**
 * What a precheck activity receives: the arguments; after approval also the idempotency key of the call about to run
 * (a call that ran already passes: its tool replays the recorded result) and the effect the reviewers approved.
 */
export interface PrecheckInput {
  args: unknown;
  idempotencyKey?: string;
  /** The facts of the effect the reviewers approved; a precheck that finds others answers `changed`. */
  approvedEffect?: Record<string, unknown>;
}

/**
 * What a precheck activity answers: `ok` (with the effect as it stands), or not (`changed` when the effect differs from
 * the approved one, with the difference in `reason`). `effect` is what the call would touch now: `lines` for people,
 * `facts` for comparing.
 */
export type PrecheckResult =
  | { ok: true; note: string; effect?: { lines: string[]; facts: Record<string, unknown> } }
  | { ok: false; reason: string; changed?: boolean; effect?: { lines: string[]; facts: Record<string, unknown> } };

/** What a tool activity receives. */
export interface ToolActivityInput {
  /** Raw arguments; the activity parses them again with the tool's schema (defence in depth). */
  args: unknown;
  /**
   * Same across activity retries, worker crashes and workflow replays; different for every tool call.
   * Shaped `<workflowId>:<callUuid>`.
   */
  idempotencyKey: string;
  /**
   * Run this precheck first, in the same activity (a call that waited for people, since `PATCHES.precheckInTool`):
   * the ledger first (a call that ran already passes), then the check against the world now and the approved effect,
   * then the tool. When the check does not pass the tool does not run and the result carries the check's answer.
   */
  precheck?: { name: string; approvedEffect?: Record<string, unknown> };
}

/** What a tool activity returns. */
export interface ToolActivityResult {
  /** JSON result handed to the model; `null` when the precheck stopped the call. */
  data: unknown;
  /** True when the result came from the idempotency ledger (an earlier attempt already did the work). */
  replayed: boolean;
  /** The precheck's answer, when the input asked for one; the tool ran only if it is `ok`. */
  precheck?: PrecheckResult;
}

/**
 * Declares a tool with its argument types inferred from the zod schema, and its name and precheck kept as literal
 * types, so the activity maps keyed by them are checked by `tsc`.
 * @param definition - the tool
 * @returns the same object, typed
 */
export function defineTool<S extends z.ZodType, const N extends string, const P extends string = never>(
  definition: ToolDefinition<S, N, P>,
): ToolDefinition<S, N, P> {
  return definition;
}
