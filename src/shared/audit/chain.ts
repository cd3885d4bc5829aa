import { canonicalJson, sha256Hex } from '../hash';
import type { AuditEntry } from '../run-state';

/** The `prev` of a workflow's first audit record: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * One audit entry as the audit store keeps it: the entry, where it was written (workflow id and the run id of the
 * segment), the policy the run pinned, and its place in the workflow's hash chain. `hash` is the SHA-256 of `prev`
 * and the canonical JSON of every other field ({@link recordHash}), so changing, removing, inserting or reordering an
 * entry breaks the chain at that entry (a hash-chained log, the idea of Schneier and Kelsey's "Secure Audit Logs to
 * Support Computer Forensics", 1999, without their keys: see the threat model for what that leaves open).
 */
export interface AuditRecord extends AuditEntry {
  workflowId: string;
  /** Run id of the segment that wrote the entry (a continue-as-new or a reset starts a new one). */
  runId: string;
  /** The version of the policy the run pinned (absent before the policy was pinned). */
  policyVersion?: string;
  /** SHA-256 of the pinned policy (absent for runs from before worker-owned policies). */
  policySha256?: string;
  /** `hash` of the entry before this one in the workflow's chain; {@link GENESIS_HASH} for the first. */
  prev: string;
  /** SHA-256 (64 lowercase hex characters) of `prev` and the rest of the record. */
  hash: string;
}

/**
 * The hash a record must carry: SHA-256 over `prev`, a newline and the canonical JSON of the record without `hash`.
 * Deterministic and free of Node built-ins, so the workflow computes it as it appends.
 * @param record - the record, with or without its `hash`
 * @returns 64 lowercase hex characters
 */
export function recordHash(record: Omit<AuditRecord, 'hash'> & { hash?: string }): string {
  return sha256Hex(`${record.prev}\n${canonicalJson({ ...record, hash: undefined })}`);
}

/** The audit kind of the entry that closes a workflow's chain: nothing may follow it. */
export const CHAIN_CLOSED = 'audit_closed';
