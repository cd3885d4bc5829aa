import { CancellationScope, condition, proxyActivities } from '@temporalio/workflow';
import type {
  NotificationReceipt,
  Notification,
  NotificationKind,
  NotifiedClosure,
  PostedMessage,
  RunActivities,
} from '../../src/shared/activity-types';
import type { ApprovalRequest, RunPause } from '../../src/shared/run-state';
import { hasPatch, PATCHES } from '../patches';
import type { InFlight } from '../run/in-flight';
import type { AuditLog } from '../run/audit-log';

const { notify } = proxyActivities<RunActivities>({
  // Generous: the activity tries each channel up to 4 times, 10 s each, with waits between (under a minute in all).
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** What the notifier carries across continue-as-new: where each open request's messages were posted. */
export type NotifierState = [requestId: string, posted: PostedMessage[]][];

/**
 * Tells the people who may decide a request (or answer a pause) what happened to it, through the `notify` activity,
 * and puts each notification on the audit trail with what every channel did.
 *
 * Since 2026-12-02 (patch `notificationsAside`) a notification is sent aside: the gate does not wait for it, a channel
 * that fails is an audit entry and never a delay, and the run waits for notifications in flight only before it
 * closes its audit chain. Messages a channel posted (Slack) are remembered per request, so the request's later
 * notifications update them in place; runs from before send, wait and audit as they did.
 */
export class Notifier {
  readonly #workflowId: string;
  readonly #audit: AuditLog;
  readonly #inFlight: InFlight;
  readonly #posted = new Map<string, PostedMessage[]>();
  #sending = 0;

  constructor(workflowId: string, audit: AuditLog, inFlight: InFlight) {
    this.#workflowId = workflowId;
    this.#audit = audit;
    this.#inFlight = inFlight;
  }

  /** Where the open requests' messages were posted (for continue-as-new). */
  snapshot(open: readonly string[]): NotifierState {
    return open.flatMap((id) => {
      const posted = this.#posted.get(id);
      return posted !== undefined ? [[id, posted.map((p) => ({ ...p }))] as [string, PostedMessage[]]] : [];
    });
  }

  /** Takes over what {@link Notifier.snapshot} carried. */
  restore(state: NotifierState | undefined): void {
    for (const [id, posted] of state ?? []) this.#posted.set(id, posted);
  }

  /**
   * Sends one notification about a request to its current deciders (anyone who watches the queue when it names
   * nobody). Resolves at once on the new path; on the old one, once the activity has answered.
   * @param kind - what happened
   * @param request - the request, as it stands now (copied here)
   * @param text - one readable sentence
   * @param closure - for `request_closed`: how it closed
   */
  async send(kind: NotificationKind, request: ApprovalRequest, text: string, closure?: NotifiedClosure): Promise<void> {
    const to = request.eligibleApprovers;
    const base = { kind, workflowId: this.#workflowId, requestId: request.requestId, to, text };
    if (!hasPatch(PATCHES.notificationsAside)) {
      await this.#inFlight.track(notify(base));
      this.#record(base, request.tool, undefined);
      return;
    }
    const posted = this.#posted.get(request.requestId);
    const n: Notification = {
      ...base,
      to: [...to],
      request: { ...request, approvals: [...request.approvals] },
      ...(closure !== undefined ? { closure } : {}),
      ...(posted !== undefined ? { posted } : {}),
    };
    if (kind === 'request_closed') this.#posted.delete(request.requestId);
    this.#aside(n, request.tool);
  }

  /**
   * Sends a notification aside from a message handler, which cannot wait (new path only; runs from before sent
   * nothing at this point).
   * @param kind - what happened
   * @param request - the request, as it stands now (copied here)
   * @param text - one readable sentence
   */
  sendAside(kind: NotificationKind, request: ApprovalRequest, text: string): void {
    if (!hasPatch(PATCHES.notificationsAside)) return;
    void this.send(kind, request, text);
  }

  /**
   * Tells the people who may answer a pause that the run is paused (new path only; runs from before did not).
   * @param pause - the open pause
   * @param goal - the run's goal
   */
  sendPause(pause: RunPause, goal: string): void {
    if (!hasPatch(PATCHES.notificationsAside)) return;
    const text = `the run is paused (${pause.kind.replace('_', ' ')}): ${pause.detail}; answer by ${pause.deadline}`;
    this.#aside(
      {
        kind: 'run_paused',
        workflowId: this.#workflowId,
        requestId: pause.pauseId,
        to: [...pause.eligible],
        text,
        pause,
        goal,
      },
      undefined,
    );
  }

  /** Waits until no notification is in flight (before the run closes its audit chain). */
  async settled(): Promise<void> {
    // Also in a cancelled run: its last notifications' outcomes belong on the trail before the chain closes.
    await CancellationScope.nonCancellable(() => condition(() => this.#sending === 0));
  }

  #aside(n: Notification, tool: string | undefined): void {
    this.#sending += 1;
    const sent = this.#inFlight.track(notify(n));
    sent.then(
      (receipt) => {
        this.#sending -= 1;
        this.#record(n, tool, receipt);
      },
      (err: unknown) => {
        this.#sending -= 1;
        const why = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
        this.#record(n, tool, { deliveries: [] }, `the notify activity failed: ${why}`);
      },
    );
  }

  #record(n: Notification, tool: string | undefined, receipt: NotificationReceipt | undefined, failure?: string): void {
    const to = n.to.length > 0 ? n.to.join(', ') : 'anyone';
    const deliveries = receipt?.deliveries ?? [];
    for (const d of deliveries) {
      if (d.ok && d.posted !== undefined && n.kind !== 'request_closed') {
        const others = (this.#posted.get(n.requestId) ?? []).filter((p) => p.channel !== d.channel);
        this.#posted.set(n.requestId, [...others, d.posted]);
      }
    }
    const failed = deliveries.filter((d) => !d.ok);
    const channels = deliveries.map((d) => (d.ok ? d.channel : `${d.channel} FAILED (${d.error ?? 'no reason'})`));
    const how = failure ?? (receipt !== undefined ? `via ${channels.join(', ')}` : undefined);
    this.#audit.append({
      kind: 'notification',
      actor: 'system',
      requestId: n.requestId,
      ...(tool !== undefined ? { tool } : {}),
      detail: `${n.kind} to ${to}: ${n.text}${how !== undefined ? ` (${how})` : ''}`,
      ...(receipt !== undefined
        ? {
            facts: {
              delivered: deliveries.filter((d) => d.ok).map((d) => d.channel),
              failed: failed.map((d) => d.channel),
            },
          }
        : {}),
    });
  }
}
