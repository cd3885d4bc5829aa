import { argsHash } from '../../src/shared/hash';
import type { ToolCall } from '../../src/shared/model/types';
import type { ToolResultContent } from '../../src/shared/model/tool-result';
import { checkAuthority } from '../../src/shared/policy/authority';
import type { ResolvedGate } from '../../src/shared/policy/evaluate';
import type { Policy } from '../../src/shared/policy/schema';
import type { GateKind, PlanStep } from '../../src/shared/run-state';
import { findTool } from '../../src/shared/tools/catalog';
import { parseProposedCall, type ToolLookup } from '../../src/shared/tools/parse-call';
import type { PauseOutcome } from './pauses';

/** Plan review's instruction to the model, sent before its first call. */
export const PLAN_PROMPT =
  'Plan review: reply with the complete list of tool calls you intend to make for this goal, as tool calls, in order. ' +
  'None of them runs now: a reviewer approves, edits or rejects the whole plan first.';

/** A plan step from a call, with its hash, the gate it would meet and its summary. */
export function planStep(
  tool: string,
  args: Record<string, unknown>,
  gate: GateKind,
  find: ToolLookup = findTool,
): PlanStep {
  const def = find(tool);
  return { tool, args, argsHash: argsHash(args), gate, summary: def !== undefined ? def.describe(args) : tool };
}

/**
 * The steps of a proposed plan: the calls whose arguments parse with their tool's schema. A call that does not
 * parse is no step; it would be refused when proposed anyway.
 * @param calls - the planning turn's tool calls
 * @param gateOf - the gate a call would meet outside the plan
 * @param tools - the run's tools (catalog and MCP); default the catalog
 */
export function planSteps(
  calls: readonly ToolCall[],
  gateOf: (tool: string, args: Record<string, unknown>) => GateKind,
  tools?: { find: ToolLookup; names: () => readonly string[] },
): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const call of calls) {
    const parsed = parseProposedCall(call, tools);
    if (parsed.ok) {
      steps.push(planStep(parsed.tool.name, parsed.args, gateOf(parsed.tool.name, parsed.args), tools?.find));
    }
  }
  return steps;
}

/** One step of an approved plan: the step, who approved the plan, and whether a call has used the step. */
export interface ApprovedPlanStep {
  step: PlanStep;
  by: string;
  used: boolean;
}

/**
 * The approved plan of a run. Each step stands in for one later call with the same tool and the same argument hash,
 * and only where the person who approved the plan could have approved that call alone (a quorum of one, in the
 * deciding groups of its first stage, not barred as the requester). Anything else gets its own request.
 */
export class ApprovedPlan {
  #steps: ApprovedPlanStep[] = [];

  /** @param carried - the plan as an earlier segment of the run left it */
  constructor(carried: readonly ApprovedPlanStep[] = []) {
    this.#steps = carried.map((s) => ({ ...s }));
  }

  /** The steps with who approved them and whether a call used them, for a run that continues as new. */
  snapshot(): ApprovedPlanStep[] {
    return this.#steps.map((s) => ({ ...s }));
  }

  /** Records the approved steps and who approved them. */
  approve(steps: readonly PlanStep[], by: string): void {
    this.#steps = steps.map((step) => ({ step, by, used: false }));
  }

  /**
   * Claims the unused step this call matches, if its approver may approve the call alone.
   * @returns who approved the plan, or undefined when no step covers the call
   */
  claim(
    tool: string,
    args: Record<string, unknown>,
    gate: ResolvedGate,
    policy: Policy,
    requestedBy: string,
  ): { by: string } | undefined {
    const hash = argsHash(args);
    const entry = this.#steps.find((p) => !p.used && p.step.tool === tool && p.step.argsHash === hash);
    if (entry === undefined) return undefined;
    if (gate.quorum > 1 || !checkAuthority(policy, gate, 0, entry.by, requestedBy).ok) return undefined;
    entry.used = true;
    return { by: entry.by };
  }
}

/**
 * What the model reads for each call of its planning turn once the plan is decided.
 * @param outcome - the plan review's answer
 * @param steps - the steps that stand (the proposed ones, or the edited ones)
 */
export function planReviewResult(outcome: PauseOutcome, steps: readonly PlanStep[]): ToolResultContent {
  if (outcome.action === 'reject') {
    return { status: 'rejected', message: `plan rejected by ${outcome.by}: ${outcome.reason ?? ''}` };
  }
  return {
    status: 'ok',
    result: {
      plan: `approved by ${outcome.by}${outcome.action === 'edit' ? ' with edits' : ''}; nothing has run yet`,
      steps: steps.map((p) => ({ tool: p.tool, args: p.args })),
      next: 'execute the approved steps now',
    },
  };
}
