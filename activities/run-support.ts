import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { sealDigest, sealMatches } from '../src/node/identity/state-key';
import type { PolicyBook } from '../src/node/policy-book';
import { NotificationDispatcher } from '../src/node/notify/dispatcher';
import { LOG_ONLY } from '../src/node/notify/settings';
import type { Notification, RunActivities } from '../src/shared/activity-types';
import { FailureType } from '../src/shared/errors';
import type { ApproverRegistry } from '../src/shared/identity/signatures';
import type { McpToolDefinition } from '../src/shared/tools/mcp';

/** What the run-support activities serve, all fixed at worker start. */
export interface RunSupportOptions {
  /** The worker's policies. */
  policies: PolicyBook;
  /** The approver registry (public keys; the worker holds no private key). */
  registry: ApproverRegistry;
  /** The workers' state key (see `loadStateKey`). */
  stateKey: Uint8Array;
  /**
   * Take carried state without a seal: only for runs that continued as new on workers from before sealing existed
   * (2026-12-01), during an upgrade. `HITL_ACCEPT_UNSEALED_STATE=1` sets it. A seal that does not match is refused
   * all the same.
   */
  acceptUnsealed?: boolean;
  /** The MCP tools the worker listed at its start (default: none); each run pins them with its policy. */
  mcpTools?: readonly McpToolDefinition[];
  /** Delivers notifications (default: the log line only). */
  dispatcher?: NotificationDispatcher;
}

/**
 * Creates the run-support activities: the authority a run pins at its start (a policy of the worker's and the
 * approver registry), the registry again before each request opens, sealing and checking the state a run carries
 * across continue-as-new, and the notification activity (delivery on the operator's channels).
 *
 * @param options - see {@link RunSupportOptions}
 * @returns `{ currentPolicy, runAuthority, approverRegistry, sealState, openState, notify }`
 */
export function createRunSupportActivities(options: RunSupportOptions): RunActivities {
  const { policies, registry, stateKey, acceptUnsealed = false, mcpTools = [] } = options;
  const dispatcher = options.dispatcher ?? new NotificationDispatcher(LOG_ONLY);
  return {
    currentPolicy() {
      const found = policies.find(undefined);
      if (!found.ok) throw ApplicationFailure.nonRetryable(found.reason, FailureType.UnknownPolicy);
      return Promise.resolve({ policy: found.pin.policy, source: found.pin.source });
    },
    runAuthority(input) {
      const found = policies.find(input.policy);
      if (!found.ok) throw ApplicationFailure.nonRetryable(found.reason, FailureType.UnknownPolicy);
      return Promise.resolve({
        policy: found.pin,
        registry,
        ...(mcpTools.length > 0 ? { mcpTools: [...mcpTools] } : {}),
      });
    },
    approverRegistry() {
      return Promise.resolve(registry);
    },
    sealState(input) {
      return Promise.resolve({ seal: sealDigest(stateKey, input.workflowId, input.digest) });
    },
    openState(input) {
      if (input.seal === undefined) {
        if (acceptUnsealed) {
          log.warn('took unsealed carried state (HITL_ACCEPT_UNSEALED_STATE is set)', { workflowId: input.workflowId });
          return Promise.resolve({ ok: true, registry });
        }
        return Promise.resolve({
          ok: false,
          reason:
            'the carried state has no seal (a worker with HITL_ACCEPT_UNSEALED_STATE=1 takes it during an upgrade)',
        });
      }
      if (!sealMatches(stateKey, input.workflowId, input.digest, input.seal)) {
        return Promise.resolve({
          ok: false,
          reason: 'the carried state does not match its seal (altered, or sealed under another state key)',
        });
      }
      return Promise.resolve({ ok: true, registry });
    },
    notify(notification: Notification) {
      const { workflowExecution, activityId } = Context.current().info;
      const runId = workflowExecution?.runId ?? 'no-run';
      return dispatcher.deliver(notification, `${notification.workflowId}/${runId}/${activityId}`);
    },
  };
}
