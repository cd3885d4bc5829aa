import { log } from '@temporalio/activity';
import type { Notification, RunActivities } from '../src/shared/activity-types';
import type { Policy } from '../src/shared/policy/schema';

/**
 * Creates the run-support activities: the worker's policy, fixed at worker start, and the notification activity.
 *
 * @param policy - the validated policy the worker loaded
 * @param source - where it came from (a file path or `built-in default`), for the audit trail
 * @returns `{ currentPolicy, notify }`
 */
export function createRunSupportActivities(policy: Policy, source: string): RunActivities {
  return {
    currentPolicy() {
      return Promise.resolve({ policy, source });
    },
    notify(notification: Notification) {
      // Delivery channels (email, chat) come later; the log line is the notification for now.
      log.info(notification.text, {
        kind: notification.kind,
        workflowId: notification.workflowId,
        requestId: notification.requestId,
        to: notification.to,
      });
      return Promise.resolve();
    },
  };
}
