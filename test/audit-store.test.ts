import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import Database from 'better-sqlite3';
import { runResult, runStatus } from '../client';
import { openSqliteAuditStore, type AuditStore } from '../src/node/audit/sqlite-store';
import { AUDIT_COLUMN_LIST, AUDIT_COLUMNS, toRow } from '../src/node/audit/rows';
import { verifyChain } from '../src/node/audit/verify';
import { CHAIN_CLOSED, GENESIS_HASH, recordHash, type AuditRecord } from '../src/shared/audit/chain';
import { FailureType } from '../src/shared/errors';
import type { AuditEntry } from '../src/shared/run-state';
import { approveAs } from './support/decisions';
import { hitl } from './support/cli';
import { sharedEnv, tempDir, waitFor } from './support/env';
import { answer, call, sharedAuditStore, withWorker, type Harness } from './support/harness';
import { examplePolicy } from './support/policies';
import { entryOf, wholeAuditTrail } from './support/run-history';

/** A run that asks for a hard-gated refund (sue approves it) and ends with an answer. */
async function approvedRefund(h: Harness, overrides: { continueAsNewAfterEvents?: number } = {}): Promise<string> {
  // A few lookups first: a run that continues as new at 50 events does so before and after the request.
  const lookups = Array.from({ length: overrides.continueAsNewAfterEvents !== undefined ? 6 : 0 }, (_, i) =>
    call('get_invoice', { invoiceId: i + 1 }),
  );
  const run = await h.startScripted(
    [
      ...lookups,
      call('issue_refund', { invoiceId: 2, amountCents: 300, reason: 'charged twice' }),
      ...lookups,
      answer('refunded'),
    ],
    { requestedBy: 'sam', policy: examplePolicy, ...overrides },
  );
  const [req] = await h.pending(run.workflowId);
  assert.ok(req);
  await approveAs(h.client, run.workflowId, req, 'sue');
  await runResult(h.client, run.workflowId);
  return run.workflowId;
}

/** Waits until the store holds the run's closing entry, and returns its records. */
async function closedRecords(store: AuditStore, workflowId: string): Promise<AuditRecord[]> {
  return waitFor(async () => {
    const records = await store.records(workflowId);
    return records.some((r) => r.kind === CHAIN_CLOSED) ? records : undefined;
  }, `the closed audit chain of ${workflowId}`);
}

/** Opens a copy of a store file with its triggers dropped, as someone editing the file behind them would. */
async function tamperable(file: string): Promise<{ path: string; db: Database.Database }> {
  const path = join(tempDir('hitl-audit-tamper-'), 'audit.sqlite');
  // SQLite's backup, not a file copy: the store runs in WAL mode, so recent writes may not be in the main file yet.
  const source = new Database(file, { readonly: true });
  await source.backup(path);
  source.close();
  const db = new Database(path);
  db.exec('DROP TRIGGER hitl_audit_no_update; DROP TRIGGER hitl_audit_no_delete;');
  return { path, db };
}

describe('audit store', () => {
  it('keeps every entry of a run, in order, chained and closed, as the run recorded it', async () => {
    await withWorker(async (h) => {
      const workflowId = await approvedRefund(h);
      const shared = sharedAuditStore().store;
      const records = await closedRecords(shared, workflowId);
      const trail = await wholeAuditTrail(h.client, workflowId);
      assert.deepEqual(records.map(entryOf), trail.map(entryOf), 'the store holds the run trail, entry for entry');
      assert.deepEqual(
        records.map((r) => r.seq),
        records.map((_, i) => i + 1),
      );
      assert.equal(records.at(-1)?.kind, CHAIN_CLOSED, 'the last entry closes the chain');
      assert.equal(records[0]?.prev, GENESIS_HASH);
      for (const [i, r] of records.entries()) {
        assert.equal(recordHash(r), r.hash, `entry ${r.seq} matches its hash`);
        if (i > 0) assert.equal(r.prev, records[i - 1]?.hash, `entry ${r.seq} follows ${r.seq - 1}`);
      }
      const decision = records.find((r) => r.kind === 'decision');
      assert.ok(decision?.policySha256 !== undefined && decision.policyVersion === examplePolicy.version);
      assert.match(decision.actor, /^sue/);
      assert.deepEqual(verifyChain(workflowId, records), { workflowId, records: records.length, closed: true });
    });
  });

  it('writes each entry once across continue-as-new, in one chain over every segment', async () => {
    await withWorker(async (h) => {
      const workflowId = await approvedRefund(h, { continueAsNewAfterEvents: 50 });
      const records = await closedRecords(sharedAuditStore().store, workflowId);
      const runs = new Set(records.map((r) => r.runId));
      const status = await runStatus(h.client, workflowId);
      assert.ok(status.earlierRuns.length >= 1, 'the run continued as new');
      assert.equal(runs.size, status.earlierRuns.length + 1, 'every segment wrote its entries');
      assert.deepEqual(
        records.map((r) => r.seq),
        records.map((_, i) => i + 1),
        'no entry twice, none missing',
      );
      assert.ok(records.some((r) => r.kind === 'run_continued'));
      assert.equal(verifyChain(workflowId, records).broken, undefined);
    });
  });

  it('refuses UPDATE and DELETE, skips a record sent again, and refuses another record under the same key', async () => {
    const store = openSqliteAuditStore(join(tempDir('hitl-audit-'), 'audit.sqlite'));
    const first = chained([{ kind: 'run_started', detail: 'goal: test' }]);
    assert.deepEqual(await store.append(first), { stored: 1, present: 0 });
    assert.deepEqual(await store.append(first), { stored: 0, present: 1 }, 'sent again: skipped');
    const other = chained([{ kind: 'run_started', detail: 'goal: another' }]);
    await assert.rejects(
      store.append(other),
      (err: unknown) => err instanceof ApplicationFailure && err.type === FailureType.AuditConflict,
    );
    const forged = [{ ...first[0], detail: 'goal: forged' } as AuditRecord];
    await assert.rejects(
      store.append(forged),
      (err: unknown) => err instanceof ApplicationFailure && err.type === FailureType.InvalidAuditRecord,
    );
    await store.close();
    const db = new Database(store.location);
    assert.throws(() => db.prepare("UPDATE hitl_audit SET detail = 'changed'").run(), /append-only: UPDATE refused/);
    assert.throws(() => db.prepare('DELETE FROM hitl_audit').run(), /append-only: DELETE refused/);
    const stored = db.prepare<[], { detail: string }>('SELECT detail FROM hitl_audit').all();
    assert.deepEqual(stored, [{ detail: 'goal: test' }], 'the one record, unchanged');
    db.close();
  });

  it('names the first entry altered, removed, inserted or reordered behind the triggers', async () => {
    await withWorker(async (h) => {
      const workflowId = await approvedRefund(h);
      const shared = sharedAuditStore();
      const records = await closedRecords(shared.store, workflowId);
      assert.ok(records.length >= 6, `a run of ${records.length} entries`);
      const cases: [string, (db: Database.Database) => void, RegExp][] = [
        [
          'altered',
          (db) =>
            db
              .prepare("UPDATE hitl_audit SET detail = 'nothing happened' WHERE workflow_id = ? AND seq = 3")
              .run(workflowId),
          /^entry 3 altered/,
        ],
        [
          'removed',
          (db) => db.prepare('DELETE FROM hitl_audit WHERE workflow_id = ? AND seq = 3').run(workflowId),
          /^entry 3 removed/,
        ],
        [
          'removed and renumbered',
          (db) => {
            db.prepare('DELETE FROM hitl_audit WHERE workflow_id = ? AND seq = 3').run(workflowId);
            db.prepare('UPDATE hitl_audit SET seq = seq - 1 WHERE workflow_id = ? AND seq > 3').run(workflowId);
          },
          /^entry 3 was entry 4: an entry before it was removed/,
        ],
        [
          'inserted',
          (db) => {
            db.prepare('UPDATE hitl_audit SET seq = -seq WHERE workflow_id = ? AND seq >= 3').run(workflowId);
            db.prepare('UPDATE hitl_audit SET seq = 1 - seq WHERE workflow_id = ? AND seq < 0').run(workflowId);
            const before = records.find((r) => r.seq === 2);
            assert.ok(before);
            const fake = { ...before, seq: 3, detail: 'approved by nobody', prev: before.hash };
            insert(db, { ...fake, hash: recordHash(fake) });
          },
          /^entry 4 was entry 3: an entry was inserted before it/,
        ],
        [
          'reordered',
          (db) => {
            db.prepare('UPDATE hitl_audit SET seq = -1 WHERE workflow_id = ? AND seq = 3').run(workflowId);
            db.prepare('UPDATE hitl_audit SET seq = 3 WHERE workflow_id = ? AND seq = 4').run(workflowId);
            db.prepare('UPDATE hitl_audit SET seq = 4 WHERE workflow_id = ? AND seq = -1').run(workflowId);
          },
          /entries reordered/,
        ],
        [
          'inserted after the close',
          (db) => {
            const last = records.at(-1);
            assert.ok(last);
            const fake = { ...last, seq: last.seq + 1, kind: 'decision' as const, prev: last.hash };
            insert(db, { ...fake, hash: recordHash(fake) });
          },
          /inserted after the chain was closed/,
        ],
      ];
      for (const [name, tamper, expected] of cases) {
        const copy = await tamperable(shared.path);
        tamper(copy.db);
        copy.db.close();
        const { stdout, code } = await hitl(['audit', 'verify', workflowId, '--db', copy.path]);
        assert.equal(code, 1, `${name}: verify exits 1`);
        const line = stdout.trim();
        const said = /BROKEN at entry \d+: (.*)$/.exec(line)?.[1] ?? line;
        assert.match(said, expected, `${name}: ${line}`);
      }
      const intact = await hitl(['audit', 'verify', workflowId, '--db', shared.path]);
      assert.equal(intact.code, 0, intact.stderr);
      assert.match(intact.stdout, /ok, closed/);
    });
  });

  it('reads the record from the store after Temporal has deleted the workflow, and exports it', async () => {
    await withWorker(async (h) => {
      const workflowId = await approvedRefund(h);
      const shared = sharedAuditStore();
      const records = await closedRecords(shared.store, workflowId);
      const { address } = await sharedEnv();
      await h.client.workflowService.deleteWorkflowExecution({
        namespace: h.client.options.namespace,
        workflowExecution: { workflowId },
      });
      // Deletion runs in the server's background; a loaded server (the whole suite on 2 cores) takes a while.
      await waitFor(
        async () => {
          try {
            await h.client.workflow.getHandle(workflowId).describe();
            return undefined;
          } catch {
            return true;
          }
        },
        'the workflow to be deleted',
        90_000,
      );
      const fromTemporal = await hitl(['--address', address, 'audit', workflowId, '--from', 'temporal']);
      assert.notEqual(fromTemporal.code, 0, 'Temporal no longer has the run');
      const shown = await hitl(['--address', address, 'audit', workflowId, '--json', '--db', shared.path]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.deepEqual(
        (JSON.parse(shown.stdout) as AuditRecord[]).map((r) => r.hash),
        records.map((r) => r.hash),
      );
      const exported = await hitl(['audit', 'export', '--since', '1h', '--format', 'csv', '--db', shared.path]);
      const lines = exported.stdout.trim().split('\n');
      assert.equal(
        lines[0],
        'workflowId,runId,seq,at,kind,actor,requestId,tool,argsHash,policyVersion,policySha256,gate,rule,decision,signer,groups,detail,prev,hash',
      );
      assert.equal(lines.filter((l) => l.startsWith(`${workflowId},`)).length, records.length);
      // The decision's facts: no gate or rule on a decision entry, then the decision, its verified signer, her group.
      assert.ok(lines.some((l) => l.startsWith(`${workflowId},`) && l.includes(',,,approve,sue,support,')));
      const jsonl = await hitl(['audit', 'export', '--db', shared.path]);
      const mine = jsonl.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditRecord)
        .filter((r) => r.workflowId === workflowId);
      assert.deepEqual(
        mine.map((r) => r.seq),
        records.map((r) => r.seq),
      );
    });
  });

  it('shows strings from the store as text in hitl audit, hitl stats and the CSV export: no control, no fake line, no formula', async () => {
    // Whoever writes the store's strings (a model's reason, a client's name, a tool's output) may aim them at the
    // reader: terminal sequences that hide or rewrite what is shown, a newline that starts a fake line, a formula.
    const path = join(tempDir('hitl-audit-hostile-'), 'audit.sqlite');
    const store = openSqliteAuditStore(path);
    const now = new Date().toISOString();
    const requestId = 'req\n1 approved by ada';
    const entries: Omit<AuditRecord, 'seq' | 'prev' | 'hash' | 'workflowId' | 'runId'>[] = [
      {
        at: now,
        kind: 'approval_requested',
        actor: 'agent',
        requestId,
        tool: 'issue_refund\u001b[2K',
        detail: 'Refund $49.99\r$0.49\u001b[8m hidden',
        facts: { gate: 'hard', because: 'x', rule: '\u001b[31mred rule' },
      },
      {
        at: now,
        kind: 'decision',
        actor: '=HYPERLINK("http://example.invalid","open")',
        requestId,
        tool: 'issue_refund\u001b[2K',
        detail: 'approved\ntool_executed: refund sent',
        facts: { decision: 'approve', signer: 'eve\u001b[2K', groups: ['finance\nfake'], closed: true },
      },
    ];
    let prev = GENESIS_HASH;
    const records = entries.map((e, i) => {
      const unhashed = { ...e, seq: i + 1, workflowId: 'wf-hostile', runId: 'run-1', prev };
      const record = { ...unhashed, hash: recordHash(unhashed) };
      prev = record.hash;
      return record;
    });
    await store.append(records);
    await store.close();
    const hasControl = (text: string) =>
      [...text].some((c) => (c.charCodeAt(0) < 0x20 && c !== '\n') || c.charCodeAt(0) === 0x7f);
    const shown = await hitl(['audit', 'wf-hostile', '--db', path]);
    const stats = await hitl(['stats', '--db', path, '--min-requests', '1']);
    for (const [what, out] of [
      ['hitl audit', shown],
      ['hitl stats', stats],
    ] as const) {
      assert.equal(out.code, 0, `${what}: ${out.stderr}`);
      assert.ok(!hasControl(out.stdout), `${what} prints no control character`);
      assert.ok(
        out.stdout.split('\n').every((l) => !/^\s*(tool_executed|1 approved|fake)/.test(l)),
        `${what} starts no line with text from the store:\n${out.stdout}`,
      );
    }
    assert.match(shown.stdout, /\\x1b\[8m/, 'the hidden-text sequence is shown as an escape');
    const csv = await hitl(['audit', 'export', '--since', '1h', '--format', 'csv', '--db', path]);
    assert.equal(csv.code, 0, csv.stderr);
    assert.doesNotMatch(csv.stdout, /(^|,)"?=/m, 'no cell starts with a formula');
    assert.match(csv.stdout, /'=HYPERLINK/, 'the formula is kept as text');
  });

  it('goes on while the store is down, and writes every queued entry once, in order, when it is back', async () => {
    const path = join(tempDir('hitl-audit-outage-'), 'audit.sqlite');
    const store = openSqliteAuditStore(path, { busyTimeoutMs: 50 });
    // The outage: another connection holds the write lock, so every write times out.
    const holder = new Database(path);
    holder.exec('BEGIN EXCLUSIVE');
    await withWorker(
      async (h) => {
        const run = await h.startScripted(
          [call('issue_refund', { invoiceId: 3, amountCents: 200, reason: 'outage' }), answer('refunded')],
          { requestedBy: 'sam', policy: examplePolicy },
        );
        const [req] = await h.pending(run.workflowId);
        assert.ok(req);
        await approveAs(h.client, run.workflowId, req, 'sue');
        // The run did its work while the store was down: the refund ran, and the run waits only for its record.
        await waitFor(
          async () => ((await runStatus(h.client, run.workflowId)).phase === 'completed' ? true : undefined),
          'the run to reach its end',
        );
        const { status } = await h.client.workflow.getHandle(run.workflowId).describe();
        assert.equal(status.name, 'RUNNING', 'the run holds its queued entries until the store is back');
        holder.exec('COMMIT');
        holder.close();
        await runResult(h.client, run.workflowId);
        const records = await store.records(run.workflowId);
        const trail = await wholeAuditTrail(h.client, run.workflowId);
        assert.deepEqual(records.map(entryOf), trail.map(entryOf));
        assert.equal(verifyChain(run.workflowId, records).broken, undefined);
        assert.equal(records.at(-1)?.kind, CHAIN_CLOSED);
      },
      { auditStore: store },
    );
    await store.close();
  });
});

/** Records chained from the genesis hash, for a workflow of its own. */
function chained(entries: Pick<AuditEntry, 'kind' | 'detail'>[]): AuditRecord[] {
  let prev = GENESIS_HASH;
  return entries.map((e, i) => {
    const unhashed = {
      seq: i + 1,
      at: new Date(0).toISOString(),
      actor: 'system',
      workflowId: 'wf-unit',
      runId: 'run-1',
      prev,
      ...e,
    };
    const record = { ...unhashed, hash: recordHash(unhashed) };
    prev = record.hash;
    return record;
  });
}

/** Writes a record straight into the SQLite file, behind the store's checks (the triggers refuse only UPDATE and DELETE). */
function insert(db: Database.Database, r: AuditRecord): void {
  const row = toRow(r);
  db.prepare(
    `INSERT INTO hitl_audit (${AUDIT_COLUMN_LIST}, stored_at) VALUES (${AUDIT_COLUMNS.map(() => '?').join(', ')}, ?)`,
  ).run(...AUDIT_COLUMNS.map((c) => row[c]), new Date().toISOString());
}
