import { ApplicationFailure } from '@temporalio/common';
import { recordHash, type AuditRecord } from '../../shared/audit/chain';
import { FailureType } from '../../shared/errors';
import { canonicalJson } from '../../shared/hash';
import type { AuditFacts, AuditKind } from '../../shared/run-state';

/** An audit record as a row of the `hitl_audit` table, in SQLite and in PostgreSQL alike. */
export interface AuditRow {
  workflow_id: string;
  run_id: string;
  seq: number;
  at: string;
  kind: string;
  actor: string;
  request_id: string | null;
  tool: string | null;
  args_hash: string | null;
  detail: string;
  policy_version: string | null;
  policy_sha256: string | null;
  prev_hash: string;
  hash: string;
  /** {@link AuditFacts} as canonical JSON. */
  facts: string | null;
}

/** The record's columns, in the order both stores write and read them (each store adds its own arrival column). */
export const AUDIT_COLUMNS = [
  'workflow_id',
  'run_id',
  'seq',
  'at',
  'kind',
  'actor',
  'request_id',
  'tool',
  'args_hash',
  'detail',
  'policy_version',
  'policy_sha256',
  'prev_hash',
  'hash',
  'facts',
] as const satisfies readonly (keyof AuditRow)[];

/** {@link AUDIT_COLUMNS} as a SQL column list. */
export const AUDIT_COLUMN_LIST = AUDIT_COLUMNS.join(', ');

/** A record as a row: absent fields are null, facts canonical JSON. */
export function toRow(r: AuditRecord): AuditRow {
  return {
    workflow_id: r.workflowId,
    run_id: r.runId,
    seq: r.seq,
    at: r.at,
    kind: r.kind,
    actor: r.actor,
    request_id: r.requestId ?? null,
    tool: r.tool ?? null,
    args_hash: r.argsHash ?? null,
    detail: r.detail,
    policy_version: r.policyVersion ?? null,
    policy_sha256: r.policySha256 ?? null,
    prev_hash: r.prev,
    hash: r.hash,
    facts: r.facts !== undefined ? canonicalJson(r.facts) : null,
  };
}

/** A stored row as a record, without the columns that were null. */
export function fromRow(row: AuditRow): AuditRecord {
  return {
    seq: row.seq,
    at: row.at,
    kind: row.kind as AuditKind,
    actor: row.actor,
    ...(row.request_id !== null ? { requestId: row.request_id } : {}),
    ...(row.tool !== null ? { tool: row.tool } : {}),
    ...(row.args_hash !== null ? { argsHash: row.args_hash } : {}),
    detail: row.detail,
    workflowId: row.workflow_id,
    runId: row.run_id,
    ...(row.policy_version !== null ? { policyVersion: row.policy_version } : {}),
    ...(row.policy_sha256 !== null ? { policySha256: row.policy_sha256 } : {}),
    prev: row.prev_hash,
    hash: row.hash,
    ...(row.facts !== null ? { facts: JSON.parse(row.facts) as AuditFacts } : {}),
  };
}

/**
 * Refuses a record whose hash does not recompute: neither store keeps one.
 * @throws ApplicationFailure `InvalidAuditRecord` (non-retryable)
 */
export function refuseMismatchedHash(r: AuditRecord): void {
  if (recordHash(r) !== r.hash) {
    throw ApplicationFailure.nonRetryable(
      `audit record ${r.workflowId} #${r.seq} does not match its hash`,
      FailureType.InvalidAuditRecord,
    );
  }
}

/**
 * The failure for a record whose key the store holds with another hash (or that a batch holds twice, differently).
 * @param had - the hash already there, if known
 * @returns ApplicationFailure `AuditConflict` (non-retryable), to throw
 */
export function auditConflict(r: AuditRecord, had: string | undefined): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `the audit store holds another record ${r.workflowId} #${r.seq} (run ${r.runId}): hash ` +
      `${had?.slice(0, 12) ?? '(none)'}…, not ${r.hash.slice(0, 12)}…`,
    FailureType.AuditConflict,
  );
}
