// `npm run bench:audit -- --entries 20000`: the audit store's cost per entry, without Temporal: chaining an entry
// (the workflow's SHA-256), writing it in batches of 100 as the activity does (one transaction each, the hash checked
// again and the key looked up), the store's bytes per entry, and `verify` per entry.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openSqliteAuditStore } from '../src/node/audit/sqlite-store';
import { verifyChain } from '../src/node/audit/verify';
import { GENESIS_HASH, recordHash, type AuditRecord } from '../src/shared/audit/chain';
import { tempDir } from '../test/support/env';
import { machine, quantile, recordBenchmark } from './support';

const { values } = parseArgs({ options: { entries: { type: 'string', default: '20000' } } });
const total = Number(values.entries);
const BATCH = 100;
const RUN_LENGTH = 40;

const dir = tempDir('hitl-bench-audit-');
const store = openSqliteAuditStore(join(dir, 'audit.sqlite'));
const kinds = ['model_turn', 'approval_requested', 'notification', 'decision', 'tool_executed'] as const;

/** Chains `total` entries over runs of 40, as runs would, and times the hashing. */
const chainStart = process.hrtime.bigint();
const records: AuditRecord[] = [];
let prev = GENESIS_HASH;
for (let i = 0; i < total; i++) {
  const seq = (i % RUN_LENGTH) + 1;
  if (seq === 1) prev = GENESIS_HASH;
  const unhashed = {
    seq,
    at: new Date(Date.UTC(2026, 11, 1) + i * 1000).toISOString(),
    kind: kinds[i % kinds.length] ?? 'model_turn',
    actor: i % 5 === 3 ? 'sue' : 'agent',
    requestId: `00000000-0000-4000-8000-${String(Math.floor(i / RUN_LENGTH)).padStart(12, '0')}`,
    tool: 'issue_refund',
    argsHash: 'a'.repeat(64),
    detail: `refund 300 cents on invoice 2 (charged twice) [hard gate: refunds over 0 cents]; entry ${i}`,
    workflowId: `agent-bench-${Math.floor(i / RUN_LENGTH)}`,
    runId: 'run-1',
    policyVersion: '2026-12-01',
    policySha256: 'b'.repeat(64),
    prev,
  };
  const record = { ...unhashed, hash: recordHash(unhashed) };
  prev = record.hash;
  records.push(record);
}
const chainMs = Number(process.hrtime.bigint() - chainStart) / 1e6;

const batchMs: number[] = [];
for (let i = 0; i < records.length; i += BATCH) {
  const t = process.hrtime.bigint();
  await store.append(records.slice(i, i + BATCH));
  batchMs.push(Number(process.hrtime.bigint() - t) / 1e6);
}
const verifyStart = process.hrtime.bigint();
let broken = 0;
for (const id of await store.workflowIds()) if (verifyChain(id, await store.records(id)).broken !== undefined) broken++;
const verifyMs = Number(process.hrtime.bigint() - verifyStart) / 1e6;
await store.close();
const bytes = ['audit.sqlite', 'audit.sqlite-wal'].reduce((sum, f) => {
  try {
    return sum + statSync(join(dir, f)).size;
  } catch {
    return sum;
  }
}, 0);

const per = (ms: number) => `${((ms / total) * 1000).toFixed(1)} µs`;
const table = [
  '| measure | per entry |',
  '| --- | --- |',
  `| chain (SHA-256 in the workflow) | ${per(chainMs)} |`,
  `| store write, batch of ${BATCH} (median batch ${quantile(batchMs, 0.5).toFixed(2)} ms, p99 ${quantile(batchMs, 0.99).toFixed(2)} ms) | ${((quantile(batchMs, 0.5) / BATCH) * 1000).toFixed(1)} µs |`,
  `| verify (read and recompute) | ${per(verifyMs)} |`,
  `| bytes in the store (file and WAL) | ${Math.round(bytes / total)} B |`,
];
process.stdout.write(`${table.join('\n')}\n${broken} broken chains\n`);
recordBenchmark('Audit store cost per entry', `npm run bench:audit -- --entries ${total}`, table, [
  `${total} entries in runs of ${RUN_LENGTH}, written to SQLite (WAL) in batches of ${BATCH} as the storeAuditRecords`,
  'activity does, on this machine: ' + machine() + '. The activity round trip itself (3 history events and a',
  'workflow task per batch) is not in these figures; see the history events per gated call.',
]);
