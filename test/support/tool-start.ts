import type { Client } from '@temporalio/client';

/**
 * When a run's first activity of `activityType` started, by the server's clock (its `ActivityTaskStarted` event), in
 * ms since the epoch. Read after the activity completed: the server writes the started event then, with its time.
 * @param client - a connected client
 * @param workflowId - the run (its latest segment)
 * @param activityType - e.g. `issue_refund`
 * @throws Error when the history has no such activity start
 */
export async function toolStartedAt(client: Client, workflowId: string, activityType: string): Promise<number> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = events.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType,
  )?.eventId;
  const started = events.find(
    (e) => scheduled != null && String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled),
  );
  const time = started?.eventTime;
  if (time == null) throw new Error(`no ${activityType} activity started in ${workflowId}`);
  return Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6);
}
