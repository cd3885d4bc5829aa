import { GENESIS_HASH, recordHash, type AuditRecord } from '../../src/shared/audit/chain';
import type { AuditEntry } from '../../src/shared/run-state';

/** Longest `detail` kept on an audit entry; longer text (e.g. a garbage signal) is cut. */
const MAX_DETAIL = 1_000;

/** Where chained records go, and what each is stamped with. */
export interface AuditChain {
  /** `hash` of the workflow's last record before this segment ({@link GENESIS_HASH} for a new run). */
  head: string;
  /** The workflow id, the segment's run id and the pinned policy, read at each append. */
  stamp: () => Pick<AuditRecord, 'workflowId' | 'runId' | 'policyVersion' | 'policySha256'>;
  /** Takes each record as it is appended (the audit store's outbox). */
  push: (record: AuditRecord) => void;
}

/**
 * The run's append-only audit trail, kept in workflow state and served by the `auditTrail` query. A run that
 * continued as new keeps only its own segment's entries; their sequence numbers go on from the earlier segments'.
 * With a chain attached, every entry is also hashed into the workflow's chain and handed to the audit store's
 * outbox.
 */
export class AuditLog {
  readonly #entries: AuditEntry[] = [];
  readonly #firstSeq: number;
  #chain: AuditChain | undefined;

  /** @param firstSeq - the sequence number of this segment's first entry (1 for a new run) */
  constructor(firstSeq = 1) {
    this.#firstSeq = firstSeq;
  }

  /**
   * Hashes every later entry into a chain and hands it on (runs that write the audit store). Entries appended before
   * are chained and handed on now, in order.
   */
  attach(chain: AuditChain): void {
    this.#chain = chain;
    for (const entry of this.#entries) this.#forward(entry);
  }

  /** `hash` of the last chained entry ({@link GENESIS_HASH} before the first); undefined without a chain. */
  get head(): string | undefined {
    return this.#chain?.head;
  }

  /** Appends an entry stamped with workflow time and the next sequence number. */
  append(entry: Omit<AuditEntry, 'seq' | 'at'>): void {
    const detail = entry.detail.length > MAX_DETAIL ? `${entry.detail.slice(0, MAX_DETAIL)}…` : entry.detail;
    const stamped: AuditEntry = { seq: this.nextSeq(), at: new Date().toISOString(), ...entry, detail };
    this.#entries.push(stamped);
    this.#forward(stamped);
  }

  /** The sequence number the next entry gets. */
  nextSeq(): number {
    return this.#firstSeq + this.#entries.length;
  }

  /** A copy of every entry, oldest first. */
  entries(): AuditEntry[] {
    return this.#entries.map((e) => ({ ...e }));
  }

  #forward(entry: AuditEntry): void {
    const chain = this.#chain;
    if (chain === undefined) return;
    const stamp = chain.stamp();
    const unhashed: Omit<AuditRecord, 'hash'> = {
      ...entry,
      workflowId: stamp.workflowId,
      runId: stamp.runId,
      ...(stamp.policyVersion !== undefined ? { policyVersion: stamp.policyVersion } : {}),
      ...(stamp.policySha256 !== undefined ? { policySha256: stamp.policySha256 } : {}),
      prev: chain.head,
    };
    const record: AuditRecord = { ...unhashed, hash: recordHash(unhashed) };
    chain.head = record.hash;
    chain.push(record);
  }
}

export { GENESIS_HASH };
