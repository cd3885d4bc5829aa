import { proxyActivities } from '@temporalio/workflow';
import type { Notification, RunActivities } from '../../src/shared/activity-types';
import type { ApprovalRequest } from '../../src/shared/run-state';
import type { InFlight } from '../run/in-flight';
import type { AuditLog } from '../run/audit-log';

const { notify } = proxyActivities<RunActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/**
 * Tells a request's deciders what happened to it (opened, reminder, escalated, closed) through the `notify` activity,
 * and puts each notification on the audit trail once it has gone out.
 */
export class Notifier {
  readonly #workflowId: string;
  readonly #audit: AuditLog;
  readonly #inFlight: InFlight;

  constructor(workflowId: string, audit: AuditLog, inFlight: InFlight) {
    this.#workflowId = workflowId;
    this.#audit = audit;
    this.#inFlight = inFlight;
  }

  /**
   * Sends one notification to the request's current deciders (anyone who watches the queue when it names nobody).
   * @param kind - what happened
   * @param request - the request, as it stands now
   * @param text - one readable sentence
   */
  async send(kind: Notification['kind'], request: ApprovalRequest, text: string): Promise<void> {
    const to = request.eligibleApprovers;
    await this.#inFlight.track(notify({ kind, workflowId: this.#workflowId, requestId: request.requestId, to, text }));
    this.#audit.append({
      kind: 'notification',
      actor: 'system',
      requestId: request.requestId,
      tool: request.tool,
      detail: `${kind} to ${to.length > 0 ? to.join(', ') : 'anyone'}: ${text}`,
    });
  }
}
