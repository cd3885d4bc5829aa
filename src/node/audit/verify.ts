import { CHAIN_CLOSED, GENESIS_HASH, recordHash, type AuditRecord } from '../../shared/audit/chain';

/** What `hitl audit verify` found for one workflow. */
export interface ChainReport {
  workflowId: string;
  /** Records checked. */
  records: number;
  /** Whether the chain ends with its closing entry (`audit_closed`); an open chain belongs to a run still going. */
  closed: boolean;
  /** The first break, in words, naming the entry; undefined when the chain holds. */
  broken?: string;
  /** The seq of the first broken entry. */
  brokenAt?: number;
}

/**
 * Recomputes one workflow's audit chain from the store and names the first entry that was altered, removed,
 * inserted or reordered. Entries are walked by seq; an entry links to one with the seq before it (the same run's, or,
 * for a segment's first entry, the segment it continued or the run a reset started from).
 * @param workflowId - the workflow
 * @param records - its records as the store returns them (by seq, then arrival)
 */
export function verifyChain(workflowId: string, records: readonly AuditRecord[]): ChainReport {
  const report = (broken?: string, brokenAt?: number): ChainReport => ({
    workflowId,
    records: records.length,
    closed: records.some((r) => r.kind === CHAIN_CLOSED),
    ...(broken !== undefined ? { broken, brokenAt } : {}),
  });
  if (records.length === 0) return report('no audit records', 0);
  const bySeq = new Map<number, AuditRecord[]>();
  const byHash = new Map<string, AuditRecord>();
  for (const r of records) {
    bySeq.set(r.seq, [...(bySeq.get(r.seq) ?? []), r]);
    byHash.set(r.hash, r);
  }
  let closedAt: number | undefined;
  let expected = 1;
  for (const r of records) {
    if (r.seq > expected) {
      const missing = r.seq - 1 === expected ? `entry ${expected}` : `entries ${expected}–${r.seq - 1}`;
      return report(`${missing} removed: the chain goes from ${expected - 1} to ${r.seq}`, expected);
    }
    expected = Math.max(expected, r.seq + 1);
    if (recordHash(r) !== r.hash) return report(describeMismatch(r, byHash), r.seq);
    if (closedAt !== undefined && r.seq > closedAt) {
      return report(`entry ${r.seq} inserted after the chain was closed at entry ${closedAt}`, r.seq);
    }
    if (r.seq === 1) {
      if (r.prev !== GENESIS_HASH) return report('entry 1 does not start the chain (inserted before it?)', 1);
    } else {
      const before = bySeq.get(r.seq - 1) ?? [];
      if (!before.some((b) => b.hash === r.prev)) {
        const linked = byHash.get(r.prev);
        return report(
          linked !== undefined
            ? `entry ${r.seq} follows entry ${linked.seq}, not ${r.seq - 1}: entries reordered`
            : `entry ${r.seq} does not follow any entry ${r.seq - 1}: inserted, or the one before it was replaced`,
          r.seq,
        );
      }
    }
    if (r.kind === CHAIN_CLOSED) closedAt = r.seq;
  }
  return report();
}

/** Why a record does not match its hash: renumbered (an entry inserted or removed before it) or altered. */
function describeMismatch(r: AuditRecord, byHash: ReadonlyMap<string, AuditRecord>): string {
  for (const shift of [1, -1]) {
    if (recordHash({ ...r, seq: r.seq - shift }) === r.hash) {
      const linked = byHash.get(r.prev);
      if (linked !== undefined && linked.seq >= r.seq) {
        return `entry ${r.seq} was entry ${r.seq - shift} and now follows entry ${linked.seq}: entries reordered`;
      }
      return shift === 1
        ? `entry ${r.seq} was entry ${r.seq - 1}: an entry was inserted before it`
        : `entry ${r.seq} was entry ${r.seq + 1}: an entry before it was removed and the rest renumbered`;
    }
  }
  return `entry ${r.seq} altered: its content does not match its hash`;
}
