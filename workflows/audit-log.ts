import type { AuditEntry } from '../src/run-state';

/** Longest `detail` kept on an audit entry; longer text (e.g. a garbage signal) is cut. */
const MAX_DETAIL = 1_000;

/** The run's append-only audit trail, kept in workflow state and served by the `auditTrail` query. */
export class AuditLog {
  readonly #entries: AuditEntry[] = [];

  /** Appends an entry stamped with workflow time and the next sequence number. */
  append(entry: Omit<AuditEntry, 'seq' | 'at'>): void {
    const detail = entry.detail.length > MAX_DETAIL ? `${entry.detail.slice(0, MAX_DETAIL)}…` : entry.detail;
    this.#entries.push({ seq: this.#entries.length + 1, at: new Date().toISOString(), ...entry, detail });
  }

  /** A copy of every entry, oldest first. */
  entries(): AuditEntry[] {
    return this.#entries.map((e) => ({ ...e }));
  }
}
