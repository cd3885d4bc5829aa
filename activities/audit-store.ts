import type { AuditStore } from '../src/node/audit/sqlite-store';
import type { AuditActivities } from '../src/shared/activity-types';

/**
 * Creates the audit store activity, which writes the records a run's outbox sends (see `AuditActivities`).
 * @param store - the worker's audit store
 * @returns `{ storeAuditRecords }`
 */
export function createAuditActivities(store: AuditStore): AuditActivities {
  return {
    storeAuditRecords: (records) => store.append(records),
  };
}
