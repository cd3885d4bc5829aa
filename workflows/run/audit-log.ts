import type { AuditEntry } from '../../src/shared/run-state';

/** Longest `detail` kept on an audit entry; longer text (e.g. a garbage signal) is cut. */
const MAX_DETAIL = 1_000;

/**
 * The run's append-only audit trail, kept in workflow state and served by the `auditTrail` query. A run that
 * continued as new keeps only its own segment's entries; their sequence numbers go on from the earlier segments'.
 */
export class AuditLog {
  readonly #entries: AuditEntry[] = [];
  readonly #firstSeq: number;

  /** @param firstSeq - the sequence number of this segment's first entry (1 for a new run) */
  constructor(firstSeq = 1) {
    this.#firstSeq = firstSeq;
  }

  /** Appends an entry stamped with workflow time and the next sequence number. */
  append(entry: Omit<AuditEntry, 'seq' | 'at'>): void {
    const detail = entry.detail.length > MAX_DETAIL ? `${entry.detail.slice(0, MAX_DETAIL)}…` : entry.detail;
    this.#entries.push({ seq: this.nextSeq(), at: new Date().toISOString(), ...entry, detail });
  }

  /** The sequence number the next entry gets. */
  nextSeq(): number {
    return this.#firstSeq + this.#entries.length;
  }

  /** A copy of every entry, oldest first. */
  entries(): AuditEntry[] {
    return this.#entries.map((e) => ({ ...e }));
  }
}
