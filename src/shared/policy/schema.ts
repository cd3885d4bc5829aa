import { z } from 'zod';
import { normalizeName } from '../identity/names';
import type { GateKind } from '../run-state';
import { findTool } from '../tools/catalog';

// Evaluated inside workflow code: no Node built-ins, no clock, no randomness. Only zod.

const MINUTE_MS = 60_000;
const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: MINUTE_MS,
  h: 60 * MINUTE_MS,
  d: 1_440 * MINUTE_MS,
};
const MAX_DURATION_MS = 365 * 1_440 * MINUTE_MS;

/** Timeout of a stage when neither the policy nor the run sets one: 24 hours, in ms. */
export const DEFAULT_TIMEOUT_MS = 24 * 60 * MINUTE_MS;

/** Name fragments that raise an unlisted tool to at least `hard` unless the policy gives its own list. */
export const DEFAULT_RAISE_KEYWORDS: readonly string[] =
  'delete drop send refund charge publish pay transfer remove destroy wire'.split(' ');

/**
 * Parses a duration: `90s`, `30m`, `4h`, `2d`, `250ms` (a unit is required in text).
 * @param text - the duration as written in a policy
 * @returns milliseconds, or `undefined` when the text is not a duration
 */
export function parseDurationMs(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text.trim());
  const unit = match?.[2] !== undefined ? UNIT_MS[match[2]] : undefined;
  if (match?.[1] === undefined || unit === undefined) return undefined;
  return Math.round(Number(match[1]) * unit);
}

/**
 * A duration: text with a unit (`"30m"`) or, so that a parsed policy parses again unchanged, an integer of ms.
 * Output: ms. `allowZero` lets `0` mean "off" (reminders).
 */
function duration(allowZero = false) {
  const examples = 'a duration such as "90s", "30m", "4h" or "2d" (a bare number is milliseconds)';
  return z
    .custom<string | number>((v) => typeof v === 'string' || typeof v === 'number', { message: `expected ${examples}` })
    .transform((v, ctx) => {
      const ms = typeof v === 'number' ? v : parseDurationMs(v);
      const ok =
        ms !== undefined && Number.isInteger(ms) && ms <= MAX_DURATION_MS && (ms > 0 || (allowZero && ms === 0));
      if (ok) return ms;
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not ${examples}, at most 365d` });
      return z.NEVER;
    });
}

const Name = z.string().trim().min(1).max(100);
/** A person in a group: normalised (NFKC, case-folded) so every comparison sees one spelling. */
const Person = Name.transform(normalizeName);
/** The gates, weakest first. */
export const GateKindSchema = z.enum(['auto', 'auto_logged', 'soft', 'hard', 'deny']);
const OnTimeout = z.enum(['deny', 'escalate']);
const Quorum = z.number().int().min(1).max(100);

const ApproversSchema = z.strictObject({ groups: z.array(Name).max(50), quorum: Quorum.optional() });
const StageSchema = z.strictObject({ groups: z.array(Name).max(50), timeout: duration() });

type Scalar = string | number | boolean;
const isScalar = (v: unknown): v is Scalar => ['string', 'number', 'boolean'].includes(typeof v);

/** One test on the arguments: `{ arg, measure?, op, value }`. `in` takes a list; the others a single value. */
const ConditionSchema = z
  .strictObject({
    arg: z.string().trim().min(1).max(200),
    measure: z.enum(['value', 'count']).optional(),
    op: z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in']),
    value: z.custom<Scalar | Scalar[]>((v) => isScalar(v) || (Array.isArray(v) && v.every(isScalar)), {
      message: 'value must be a number, a string, a boolean or a list of them',
    }),
  })
  .superRefine((c, ctx) => {
    if ((c.op === 'in') !== Array.isArray(c.value)) {
      const message = c.op === 'in' ? 'op "in" needs a list as value' : `op "${c.op}" needs a single value, not a list`;
      ctx.addIssue({ code: 'custom', path: ['value'], message });
    }
  });

/** A parsed condition. */
export type Condition = z.output<typeof ConditionSchema>;

/** A rule's `when`: one condition, or all / any of a list. */
export type When = Condition | { all: Condition[] } | { any: Condition[] };

const AllSchema = z.strictObject({ all: z.array(ConditionSchema).min(1).max(20) });
const AnySchema = z.strictObject({ any: z.array(ConditionSchema).min(1).max(20) });

// A zod union of strict objects reports "Invalid input" with every branch's issues; picking the branch by its key
// gives the author the one message that applies.
const WhenSchema = z
  .custom<When>((v) => typeof v === 'object' && v !== null)
  .transform((raw, ctx): When => {
    const schema = 'all' in raw ? AllSchema : 'any' in raw ? AnySchema : ConditionSchema;
    const parsed = schema.safeParse(raw);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [...issue.path] });
    return z.NEVER;
  });

const overrides = {
  approvers: ApproversSchema.optional(),
  timeout: duration().optional(),
  onTimeout: OnTimeout.optional(),
  escalation: z.array(StageSchema).max(10).optional(),
  softWindow: duration().optional(),
  separationOfDuties: z.boolean().optional(),
};

/**
 * `acknowledgeIrreversible: true` on a tool entry or rule lets it make a tool the catalog classifies as irreversible
 * `auto` or `auto_logged`; without it the policy is refused, naming the tool.
 */
const Acknowledge = z.boolean().optional();

const RuleSchema = z.strictObject({
  name: Name,
  when: WhenSchema,
  gate: GateKindSchema.optional(),
  ...overrides,
  acknowledgeIrreversible: Acknowledge,
});

const ToolPolicySchema = z.strictObject({
  gate: GateKindSchema,
  acknowledgeIrreversible: Acknowledge,
  ...overrides,
  autoLoggedLimit: z.number().int().min(0).optional(),
  rules: z.array(RuleSchema).max(50).optional(),
});

/**
 * An MCP tool's entry: a tool entry plus `sha256`, the hash of the tool's definition the operator reviewed (see
 * `mcpDefinitionHash`). A tool whose server now gives another definition is `hard` until the entry names the new hash.
 */
const McpToolPolicySchema = ToolPolicySchema.extend({
  sha256: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[0-9a-f]{64}$/, "expected the 64 hex characters of the tool definition's SHA-256"),
});

/** An MCP server's entry: its tools by their names on the server. */
const McpServerPolicySchema = z.strictObject({
  tools: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,50}$/), McpToolPolicySchema).default({}),
});

const UnclassifiedSchema = z
  .strictObject({
    gate: GateKindSchema.default('hard'),
    ...overrides,
    autoLoggedLimit: z.number().int().min(0).optional(),
    raiseKeywords: z
      .array(z.string().trim().toLowerCase().min(1).max(50))
      .max(100)
      .default([...DEFAULT_RAISE_KEYWORDS]),
  })
  .prefault({});

const DefaultsSchema = z
  .strictObject({
    timeout: duration().optional(),
    onTimeout: OnTimeout.default('deny'),
    softWindow: duration().default(5 * MINUTE_MS),
    autoLoggedLimit: z.number().int().min(0).default(20),
    separationOfDuties: z.boolean().default(true),
    approvers: z.strictObject({ groups: z.array(Name).max(50).optional(), quorum: Quorum.default(1) }).prefault({}),
    escalation: z.array(StageSchema).max(10).default([]),
    reminderBefore: duration(true).default(5 * MINUTE_MS),
  })
  .prefault({});

const InterruptionsSchema = z.strictObject({
  budgetUsd: z.number().positive().optional(),
  maxSteps: z.number().int().min(1).optional(),
  checkInEvery: z.number().int().min(0).optional(),
  checkpoints: z.array(z.enum(['after_planning', 'before_first_irreversible'])).optional(),
  pricing: z
    .strictObject({ promptPerMillionUsd: z.number().min(0), completionPerMillionUsd: z.number().min(0) })
    .optional(),
});

const PolicyShape = z
  .strictObject({
    version: z.string().trim().min(1).max(100),
    groups: z.record(Name, z.array(Person).max(1_000)).default({}),
    /**
     * `required`: every decision, pause answer, stop and run start must carry a signature that verifies under the
     * approver registry; `optional`: unsigned ones are taken (names as claimed), signed ones are verified.
     */
    signatures: z.enum(['required', 'optional']).default('optional'),
    /** How old a signature may be when it arrives (its `at` against workflow time). */
    signatureMaxAge: duration().default(15 * MINUTE_MS),
    defaults: DefaultsSchema,
    tools: z.record(Name, ToolPolicySchema).default({}),
    unclassified: UnclassifiedSchema,
    interruptions: InterruptionsSchema.optional(),
    /** MCP tools by server and tool name. Absent (not `{}`) when the file has none, so older hashes stay the same. */
    mcp: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,29}$/), McpServerPolicySchema).optional(),
  })
  // Default approvers: every group. Filled in here so the parsed policy says it plainly and parses again unchanged.
  .transform((p) => ({
    ...p,
    defaults: {
      ...p.defaults,
      approvers: { groups: p.defaults.approvers.groups ?? Object.keys(p.groups), quorum: p.defaults.approvers.quorum },
    },
  }));

/**
 * A parsed policy: plain JSON (durations in ms, defaults filled in), so it can travel in workflow input and history,
 * and parsing it again gives the same value. `defaults.timeout` stays absent when the file does not set it: the run's
 * own approval timeout applies then.
 */
export type Policy = z.output<typeof PolicyShape>;

/** A policy as written in a file (durations as text, defaults optional). */
export type PolicyInput = z.input<typeof PolicyShape>;

/** One tool's entry in `tools`. */
export type ToolPolicy = Policy['tools'][string];

/** One MCP tool's entry in `mcp.SERVER.tools`. */
export type McpToolPolicy = NonNullable<Policy['mcp']>[string]['tools'][string];

/** One rule of a tool. */
export type Rule = NonNullable<ToolPolicy['rules']>[number];

/** The fields a tool entry, a rule or `unclassified` may set over the defaults. */
export interface PolicyLayer {
  gate?: GateKind;
  approvers?: { groups: string[]; quorum?: number };
  timeout?: number;
  onTimeout?: 'deny' | 'escalate';
  escalation?: { groups: string[]; timeout: number }[];
  softWindow?: number;
  separationOfDuties?: boolean;
  autoLoggedLimit?: number;
}

/** What a tool (and rule) resolves to after layering defaults ← tool ← rule. Durations in ms. */
export interface LayeredSettings {
  gate: GateKind;
  /** Stage 0 approver groups; empty means anyone. */
  groups: string[];
  quorum: number;
  /** Absent when nothing sets it: the run's timeout applies. */
  timeoutMs?: number;
  onTimeout: 'deny' | 'escalate';
  escalation: { groups: string[]; timeoutMs: number }[];
  softWindowMs: number;
  separationOfDuties: boolean;
  autoLoggedLimit: number;
}

/**
 * Layers the policy's defaults, then each layer in order (tool entry, then rule): a later layer overrides the
 * fields it sets. An `approvers` block is a unit: its quorum, when left out, is `defaults.approvers.quorum`.
 * @param policy - a parsed policy
 * @param layers - tool entry first, then the matching rule
 * @returns the effective settings (durations in ms)
 */
export function layerSettings(policy: Policy, ...layers: (PolicyLayer | undefined)[]): LayeredSettings {
  const d = policy.defaults;
  const s: LayeredSettings = {
    gate: 'hard',
    groups: [...d.approvers.groups],
    quorum: d.approvers.quorum,
    ...(d.timeout !== undefined ? { timeoutMs: d.timeout } : {}),
    onTimeout: d.onTimeout,
    escalation: d.escalation.map((e) => ({ groups: [...e.groups], timeoutMs: e.timeout })),
    softWindowMs: d.softWindow,
    separationOfDuties: d.separationOfDuties,
    autoLoggedLimit: d.autoLoggedLimit,
  };
  for (const l of layers) {
    if (l === undefined) continue;
    if (l.gate !== undefined) s.gate = l.gate;
    if (l.approvers !== undefined) {
      s.groups = [...l.approvers.groups];
      s.quorum = l.approvers.quorum ?? d.approvers.quorum;
    }
    if (l.timeout !== undefined) s.timeoutMs = l.timeout;
    if (l.onTimeout !== undefined) s.onTimeout = l.onTimeout;
    if (l.escalation !== undefined)
      s.escalation = l.escalation.map((e) => ({ groups: [...e.groups], timeoutMs: e.timeout }));
    if (l.softWindow !== undefined) s.softWindowMs = l.softWindow;
    if (l.separationOfDuties !== undefined) s.separationOfDuties = l.separationOfDuties;
    if (l.autoLoggedLimit !== undefined) s.autoLoggedLimit = l.autoLoggedLimit;
  }
  return s;
}

/** A cross-field problem: where it is and what is wrong. */
export interface PolicyProblem {
  path: (string | number)[];
  message: string;
}

/**
 * Cross-field checks a schema of single fields cannot make: every group named exists, a policy with groups never
 * leaves an approver list empty (that would let anyone decide), each quorum fits the distinct members of every stage it
 * applies to, and rule names are unique per tool. Tools the catalog does not know are fine (another toolkit may have
 * them).
 * @param policy - a policy that passed the field checks
 * @returns the problems, empty when there are none
 */
export function policyProblems(policy: Policy): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const groupNames = Object.keys(policy.groups);
  const known = groupNames.length > 0 ? groupNames.join(', ') : 'none are defined';
  const checkGroups = (groups: string[], path: (string | number)[]) => {
    if (groups.length === 0 && groupNames.length > 0) {
      problems.push({ path, message: 'name at least one group (an empty list would let anyone decide)' });
    }
    groups.forEach((g, i) => {
      if (!Object.hasOwn(policy.groups, g))
        problems.push({ path: [...path, i], message: `unknown group "${g}" (groups: ${known})` });
    });
  };
  const checkQuorum = (s: LayeredSettings, quorumPath: (string | number)[], escalationPath: (string | number)[]) => {
    const stages = [
      { groups: s.groups, path: quorumPath },
      ...s.escalation.map((e, i) => ({ groups: e.groups, path: [...escalationPath, i] })),
    ];
    for (const stage of stages) {
      if (stage.groups.length === 0 || !stage.groups.every((g) => Object.hasOwn(policy.groups, g))) continue;
      const people = [...new Set(stage.groups.flatMap((g) => policy.groups[g] ?? []))].sort();
      if (s.quorum > people.length) {
        const who = `${stage.groups.join(' + ')} (${people.length}: ${people.join(', ') || 'nobody'})`;
        problems.push({ path: stage.path, message: `quorum ${s.quorum} needs more distinct people than ${who}` });
      }
    }
  };
  const checkLayer = (layer: PolicyLayer, path: (string | number)[], parents: PolicyLayer[]) => {
    if (layer.approvers !== undefined) checkGroups(layer.approvers.groups, [...path, 'approvers', 'groups']);
    layer.escalation?.forEach((e, i) => checkGroups(e.groups, [...path, 'escalation', i, 'groups']));
    if (layer.approvers === undefined && layer.escalation === undefined) return;
    const quorumPath = [...path, 'approvers', ...(layer.approvers?.quorum !== undefined ? ['quorum'] : [])];
    checkQuorum(layerSettings(policy, ...parents, layer), quorumPath, [...path, 'escalation']);
  };

  checkGroups(policy.defaults.approvers.groups, ['defaults', 'approvers', 'groups']);
  policy.defaults.escalation.forEach((e, i) => checkGroups(e.groups, ['defaults', 'escalation', i, 'groups']));
  checkQuorum(layerSettings(policy), ['defaults', 'approvers', 'quorum'], ['defaults', 'escalation']);
  for (const [name, tool] of Object.entries(policy.tools)) {
    checkLayer(tool, ['tools', name], []);
    const seen = new Set<string>();
    tool.rules?.forEach((rule, i) => {
      if (seen.has(rule.name))
        problems.push({ path: ['tools', name, 'rules', i, 'name'], message: `duplicate rule name "${rule.name}"` });
      seen.add(rule.name);
      checkLayer(rule, ['tools', name, 'rules', i], [tool]);
    });
  }
  for (const [server, entry] of Object.entries(policy.mcp ?? {})) {
    for (const [name, tool] of Object.entries(entry.tools)) {
      const path = ['mcp', server, 'tools', name];
      checkLayer(tool, path, []);
      const seen = new Set<string>();
      tool.rules?.forEach((rule, i) => {
        if (seen.has(rule.name))
          problems.push({ path: [...path, 'rules', i, 'name'], message: `duplicate rule name "${rule.name}"` });
        seen.add(rule.name);
        checkLayer(rule, [...path, 'rules', i], [tool]);
      });
    }
  }
  checkLayer(policy.unclassified, ['unclassified'], []);
  problems.push(...irreversibleLetThrough(policy));
  return problems;
}

/** Tool entries and rules that let a catalog-irreversible tool run without approval, unacknowledged. */
function irreversibleLetThrough(policy: Policy): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const weak = (gate: GateKind | undefined) => gate === 'auto' || gate === 'auto_logged';
  for (const [name, tool] of Object.entries(policy.tools)) {
    if (findTool(name)?.classification.reversibility !== 'irreversible') continue;
    const message = (gate: GateKind | undefined) =>
      `${name} is irreversible, and gate ${gate ?? ''} runs it without approval: set acknowledgeIrreversible: true ` +
      'if that is really meant';
    if (weak(tool.gate) && tool.acknowledgeIrreversible !== true) {
      problems.push({ path: ['tools', name, 'gate'], message: message(tool.gate) });
    }
    tool.rules?.forEach((rule, i) => {
      if (weak(rule.gate) && rule.acknowledgeIrreversible !== true && tool.acknowledgeIrreversible !== true) {
        problems.push({ path: ['tools', name, 'rules', i, 'gate'], message: message(rule.gate) });
      }
    });
  }
  return problems;
}

/**
 * The policy schema: field checks (every object strict, so an unknown key is an error), then {@link policyProblems}.
 * Parsing a parsed policy again gives the same value.
 */
export const PolicySchema = PolicyShape.superRefine((policy, ctx) => {
  for (const p of policyProblems(policy)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
});
