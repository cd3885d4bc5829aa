import type { ApprovalStage, GateKind } from '../run-state';
import type { McpAnnotations } from '../tools/mcp';
import type { ToolClassification } from '../tools/types';
import {
  DEFAULT_TIMEOUT_MS,
  layerSettings,
  type Condition,
  type LayeredSettings,
  type Policy,
  type When,
} from './schema';

// Evaluated inside workflow code: pure functions of their arguments, no Node built-ins, no clock, no randomness.

const GATE_ORDER: readonly GateKind[] = ['auto', 'auto_logged', 'soft', 'hard', 'deny'];

/**
 * The strength of a gate: auto 0 < auto_logged 1 < soft 2 < hard 3 < deny 4.
 * @param kind - a gate
 * @returns its rank
 */
export function gateRank(kind: GateKind): number {
  return GATE_ORDER.indexOf(kind);
}

/**
 * The stronger of two gates.
 * @param a - a gate
 * @param b - another gate
 * @returns `a` or `b`, whichever ranks higher (`a` on a tie)
 */
export function strongerGate(a: GateKind, b: GateKind): GateKind {
  return gateRank(b) > gateRank(a) ? b : a;
}

/** What the run knows when it asks for a gate. */
export interface ResolveContext {
  /** `auto_logged` calls of this tool already made in this run (not counting this one). */
  autoLoggedCount: number;
  /**
   * Timeout of stage 0 in ms when neither the tool, its rule nor `defaults.timeout` sets one (the run's approval
   * timeout). Without it: {@link DEFAULT_TIMEOUT_MS}.
   */
  defaultTimeoutMs?: number;
}

/** The gate one call goes through, fully resolved. Plain JSON. */
export interface ResolvedGate {
  kind: GateKind;
  /**
   * Who may decide and for how long (ms). `hard`: stage 0 is the first approvers, further stages the escalation chain
   * (only when onTimeout is `escalate`); after the last stage times out the call is denied. `soft`: one stage whose
   * timeout is the veto window. `auto`, `auto_logged`, `deny`: none. Empty `groups` means anyone.
   */
  stages: ApprovalStage[];
  /** Distinct approvals needed. */
  quorum: number;
  /** How long a soft gate waits for a veto before the call proceeds, in ms. */
  softWindowMs: number;
  /** When true the run's requester may not decide. */
  separationOfDuties: boolean;
  /** A reminder goes out this long before each stage's deadline, in ms; 0 means none. */
  reminderBeforeMs: number;
  /** What decided, in one sentence, e.g. `issue_refund rule 'large refund' (amountCents >= 5000)`. */
  because: string;
  /** The name of the tool's rule that matched (absent: the tool's own gate, or an unlisted tool). */
  rule?: string;
}

const OP_TEXT: Readonly<Record<Condition['op'], string>> = {
  eq: '==',
  ne: '!=',
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
  in: 'in',
};

/**
 * A condition in words, e.g. `amountCents >= 5000` or `count(customerIds) > 5`.
 * @param when - a rule's condition
 * @returns the condition as one line
 */
export function describeWhen(when: When): string {
  if ('all' in when) return when.all.map(describeWhen).join(' and ');
  if ('any' in when) return when.any.map(describeWhen).join(' or ');
  const subject = when.measure === 'count' ? `count(${when.arg})` : when.arg;
  return `${subject} ${OP_TEXT[when.op]} ${JSON.stringify(when.value)}`;
}

/** The value at a dot path (`a.b.0.c`); own properties only, so `constructor` and friends are never found. */
function lookup(args: unknown, path: string): { found: boolean; value?: unknown } {
  let current: unknown = args;
  for (const segment of path.split('.')) {
    if (Array.isArray(current) && /^\d+$/.test(segment)) {
      current = current[Number(segment)];
    } else if (
      typeof current === 'object' &&
      current !== null &&
      !Array.isArray(current) &&
      Object.hasOwn(current, segment)
    ) {
      current = (current as Record<string, unknown>)[segment];
    } else {
      return { found: false };
    }
    if (current === undefined) return { found: false };
  }
  return { found: true, value: current };
}

function conditionHolds(c: Condition, args: unknown): boolean {
  const at = lookup(args, c.arg);
  if (!at.found) return false;
  let actual = at.value;
  if (c.measure === 'count') {
    if (!Array.isArray(actual) && typeof actual !== 'string') return false;
    actual = actual.length;
  }
  if (typeof actual !== 'number' && typeof actual !== 'string' && typeof actual !== 'boolean') return false;
  const expected = c.value;
  if (c.op === 'in') return Array.isArray(expected) && expected.includes(actual);
  if (Array.isArray(expected)) return false;
  if (c.op === 'eq') return actual === expected;
  if (c.op === 'ne') return actual !== expected;
  // Ordering only between two numbers or two strings (code-unit order, the same on every machine).
  const comparable =
    (typeof actual === 'number' && typeof expected === 'number') ||
    (typeof actual === 'string' && typeof expected === 'string');
  if (!comparable) return false;
  switch (c.op) {
    case 'gt':
      return actual > expected;
    case 'gte':
      return actual >= expected;
    case 'lt':
      return actual < expected;
    case 'lte':
      return actual <= expected;
  }
}

/**
 * Whether a rule's condition holds for these arguments. A missing argument makes a condition false (`ne` included);
 * `measure: 'count'` is an array's or a string's length; numbers compare numerically; `in` holds when the value list
 * contains the argument. Nothing is coerced: `"5000"` is not `5000`.
 * @param when - a rule's condition
 * @param args - the call's parsed arguments
 * @returns true when it holds
 */
export function whenHolds(when: When, args: unknown): boolean {
  if ('all' in when) return when.all.every((c) => conditionHolds(c, args));
  if ('any' in when) return when.any.some((c) => conditionHolds(c, args));
  return conditionHolds(when, args);
}

function unclassifiedName(name: string, keywords: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  return keywords.find((k) => lower.includes(k.toLowerCase()));
}

/**
 * Resolves the gate one tool call goes through.
 *
 * - A tool listed in `policy.tools`: its entry over the defaults, then the first rule whose `when` holds overrides
 *   the fields it sets.
 * - `auto_logged` once `ctx.autoLoggedCount` reaches the limit: `hard`.
 * - A tool not listed: `unclassified.gate` (fail closed: `hard` unless the policy says otherwise). A tool the catalog
 *   classifies but the policy does not list is at least `hard` (the policy must list every tool it lets through), and
 *   a name containing a raise keyword is at least `hard`. Raising never lowers: a `deny` stays `deny`.
 *
 * @param policy - a parsed policy
 * @param tool - the tool's name and, when the catalog knows it, its classification
 * @param args - the call's arguments, already parsed by the tool's schema
 * @param ctx - what the run knows: auto_logged calls so far, its own approval timeout
 * @returns the gate, with stages (timeouts in ms), quorum and the reason
 */
export function resolveGate(
  policy: Policy,
  tool: { name: string; classification?: ToolClassification },
  args: unknown,
  ctx: ResolveContext,
): ResolvedGate {
  const entry = Object.hasOwn(policy.tools, tool.name) ? policy.tools[tool.name] : undefined;
  let settings: LayeredSettings;
  let kind: GateKind;
  let ruleName: string | undefined;
  const reasons: string[] = [];
  if (entry !== undefined) {
    const rule = entry.rules?.find((r) => whenHolds(r.when, args));
    ruleName = rule?.name;
    settings = layerSettings(policy, entry, rule);
    kind = settings.gate;
    reasons.push(
      rule !== undefined
        ? `${tool.name} rule '${rule.name}' (${describeWhen(rule.when)})`
        : `${tool.name} default gate`,
    );
  } else {
    const u = policy.unclassified;
    settings = layerSettings(policy, u);
    kind = settings.gate;
    const raises: string[] = [];
    if (tool.classification !== undefined && gateRank(kind) < gateRank('hard')) {
      kind = 'hard';
      raises.push('raised to hard: the catalog classifies it but the policy does not list it');
    }
    const keyword = unclassifiedName(tool.name, u.raiseKeywords);
    if (keyword !== undefined && gateRank(kind) < gateRank('hard')) {
      kind = 'hard';
      raises.push(`raised to hard: its name contains "${keyword}"`);
    }
    const head =
      gateRank(kind) >= gateRank('hard') ? 'unclassified tool: fail closed' : 'unclassified tool: let through';
    reasons.push(
      `${head} (${tool.name} is not in policy ${policy.version}; unclassified gate ${settings.gate})`,
      ...raises,
    );
  }
  return finishGate(policy, kind, settings, reasons, ctx, ruleName);
}

/** The gate's stages, quorum and reason once its kind is known (the `auto_logged` limit applied here). */
function finishGate(
  policy: Policy,
  chosen: GateKind,
  settings: LayeredSettings,
  reasons: string[],
  ctx: ResolveContext,
  ruleName: string | undefined,
): ResolvedGate {
  let kind = chosen;
  if (kind === 'auto_logged' && ctx.autoLoggedCount >= settings.autoLoggedLimit) {
    kind = 'hard';
    reasons.push(`past the limit of ${settings.autoLoggedLimit} auto_logged calls per run, so it needs hard approval`);
  }
  const firstTimeoutMs = settings.timeoutMs ?? ctx.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const stages: ApprovalStage[] =
    kind === 'hard'
      ? [
          { groups: [...settings.groups], timeoutMs: firstTimeoutMs },
          ...(settings.onTimeout === 'escalate' ? settings.escalation : []),
        ]
      : kind === 'soft'
        ? [{ groups: [...settings.groups], timeoutMs: settings.softWindowMs }]
        : [];
  return {
    kind,
    stages,
    quorum: settings.quorum,
    softWindowMs: settings.softWindowMs,
    separationOfDuties: settings.separationOfDuties,
    reminderBeforeMs: policy.defaults.reminderBefore,
    because: reasons.join('; '),
    ...(ruleName !== undefined ? { rule: ruleName } : {}),
  };
}

/** What the gate of an MCP tool reads: where it comes from, its annotations and the hash of its definition. */
export interface McpGateTool {
  server: string;
  tool: string;
  /** The name the model calls it by (`mcp__server__tool`): the `auto_logged` count and the reasons use it. */
  name: string;
  annotations: McpAnnotations;
  /** SHA-256 of the definition the worker listed (recomputed by the run). */
  sha256: string;
}

/**
 * Resolves the gate of one MCP tool call. Fail closed, and the server's word can only make it stricter:
 *
 * - A tool the policy's `mcp.SERVER.tools` does not list is at least `hard` (`unclassified` settings otherwise;
 *   an unclassified `deny` stays `deny`).
 * - A listed tool whose definition hash is not the one its entry acknowledges is at least `hard` (the entry's
 *   approvers and timeouts apply) until the policy names the new hash.
 * - A listed tool with its acknowledged hash: its entry over the defaults, then the first matching rule.
 * - Then the annotations raise: a tool not marked `readOnlyHint: true` is at least `auto_logged`; one that is also
 *   not marked `destructiveHint: false` (MCP's default is destructive) is at least `hard`.
 * - `auto_logged` past its per-run limit is `hard`, as for any tool.
 *
 * @param policy - a parsed policy
 * @param tool - the MCP tool (server, name, annotations, definition hash)
 * @param args - the call's parsed arguments
 * @param ctx - what the run knows
 * @returns the gate; `because` says which of the above decided
 */
export function resolveMcpGate(policy: Policy, tool: McpGateTool, args: unknown, ctx: ResolveContext): ResolvedGate {
  const servers = policy.mcp ?? {};
  const server = Object.hasOwn(servers, tool.server) ? servers[tool.server] : undefined;
  const entry = server !== undefined && Object.hasOwn(server.tools, tool.tool) ? server.tools[tool.tool] : undefined;
  const where = `MCP tool ${tool.tool} of server ${tool.server}`;
  const shortHash = tool.sha256.slice(0, 16);
  const reasons: string[] = [];
  let settings: LayeredSettings;
  let kind: GateKind;
  let ruleName: string | undefined;
  if (entry === undefined) {
    settings = layerSettings(policy, policy.unclassified);
    kind = strongerGate(settings.gate, 'hard');
    reasons.push(
      `unclassified ${where}: fail closed (policy ${policy.version} does not list it under mcp.${tool.server}.tools; ` +
        `its definition sha256 is ${tool.sha256})`,
    );
  } else if (entry.sha256 !== tool.sha256) {
    settings = layerSettings(policy, entry);
    kind = strongerGate(settings.gate, 'hard');
    reasons.push(
      `definition changed: ${where} now has definition sha256 ${tool.sha256}, and policy ${policy.version} ` +
        `acknowledges ${entry.sha256.slice(0, 16)}…; hard until the policy acknowledges the new hash`,
    );
  } else {
    const rule = entry.rules?.find((r) => whenHolds(r.when, args));
    ruleName = rule?.name;
    settings = layerSettings(policy, entry, rule);
    kind = settings.gate;
    reasons.push(
      rule !== undefined
        ? `${tool.name} rule '${rule.name}' (${describeWhen(rule.when)}), definition ${shortHash}… acknowledged`
        : `${tool.name} default gate, definition ${shortHash}… acknowledged`,
    );
  }
  const a = tool.annotations;
  if (a.readOnlyHint !== true && a.destructiveHint !== false && gateRank(kind) < gateRank('hard')) {
    kind = 'hard';
    reasons.push('raised to hard: the server does not mark it read-only or non-destructive');
  } else if (a.readOnlyHint !== true && gateRank(kind) < gateRank('auto_logged')) {
    kind = 'auto_logged';
    reasons.push('raised to auto_logged: the server does not mark it read-only');
  }
  return finishGate(policy, kind, settings, reasons, ctx, ruleName);
}
