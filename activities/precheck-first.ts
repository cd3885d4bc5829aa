import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../src/shared/errors';
import type { PrecheckInput, PrecheckResult, ToolActivityInput, ToolActivityResult } from '../src/shared/tools/types';

type ToolActivity = (input: ToolActivityInput) => Promise<ToolActivityResult>;
type PrecheckActivity = (input: PrecheckInput) => Promise<PrecheckResult>;

/**
 * Wraps tool activities so that a call whose input names a precheck (`input.precheck`, a call that waited for people)
 * runs it first, in the same activity: one activity and one workflow task between a decision and the effect instead
 * of two of each. The precheck looks at the idempotency ledger first (a call that ran already passes, and the tool
 * answers from the ledger), then at the world now and the effect the reviewers approved; only a check that passes
 * lets the tool run. Either way the result carries the check's answer (`precheck`), which the workflow puts on the
 * audit trail and the Web UI shows as part of the activity's result. Calls without `precheck` run as before.
 *
 * The check and the write are not one database transaction: a change between them is the same race the separate
 * precheck activity had, in milliseconds instead of a workflow task's round trip.
 *
 * @param tools - tool activities keyed by tool name
 * @param prechecks - precheck activities keyed by activity type (`precheck_<tool>`)
 * @returns the same tools, wrapped
 * @throws (from each wrapped activity) ApplicationFailure `UnknownTool` (non-retryable) when the input names a
 *   precheck this worker does not have; whatever the precheck or the tool throws otherwise
 */
export function withPrechecks<T extends Record<string, ToolActivity>>(
  tools: T,
  prechecks: Readonly<Record<string, PrecheckActivity>>,
): T {
  const wrapped = Object.entries(tools).map(([name, tool]): [string, ToolActivity] => [
    name,
    async (input) => {
      if (input.precheck === undefined) return tool(input);
      const check = prechecks[input.precheck.name];
      if (check === undefined) {
        throw ApplicationFailure.create({
          type: FailureType.UnknownTool,
          nonRetryable: true,
          message: `${name} was asked to run precheck ${input.precheck.name}, which this worker does not have`,
        });
      }
      const checked = await check({
        args: input.args,
        idempotencyKey: input.idempotencyKey,
        ...(input.precheck.approvedEffect !== undefined ? { approvedEffect: input.precheck.approvedEffect } : {}),
      });
      if (!checked.ok) return { data: null, replayed: false, precheck: checked };
      return { ...(await tool({ args: input.args, idempotencyKey: input.idempotencyKey })), precheck: checked };
    },
  ]);
  return Object.fromEntries(wrapped) as T;
}
