import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, it } from 'node:test';
import { openSqliteAuditStore } from '../src/node/audit/sqlite-store';
import { auditStats, percentile } from '../src/node/audit/stats';
import { recommend, type Recommendation } from '../src/node/audit/recommend';
import { suggestPolicy } from '../src/node/audit/suggest-policy';
import type { AuditRecord } from '../src/shared/audit/chain';
import type { AuditEntry } from '../src/shared/run-state';
import { hitl } from './support/cli';
import { tempDir } from './support/env';
import { withWorker } from './support/harness';
import { HABITS, SEED_POLICY, seedReviewedRuns } from './support/seeded-reviewers';

/** A record for the figures (the chain fields do not matter to them). */
function rec(
  workflowId: string,
  seq: number,
  minute: number,
  entry: Omit<AuditEntry, 'seq' | 'at' | 'detail'>,
): AuditRecord {
  const at = new Date(Date.UTC(2026, 11, 1, 9, minute)).toISOString();
  return { ...entry, seq, at, detail: 'text a model may have written', workflowId, runId: 'r', prev: '', hash: '' };
}

/** One request's records: opened at minute 0 with `gate`, then `after` (minute, entry) pairs. */
function story(
  workflowId: string,
  tool: string,
  gate: 'soft' | 'hard',
  after: [number, Omit<AuditEntry, 'seq' | 'at' | 'detail' | 'requestId' | 'tool'>][],
): AuditRecord[] {
  const requestId = `${workflowId}-req`;
  return [
    rec(workflowId, 1, 0, {
      kind: 'approval_requested',
      actor: 'agent',
      requestId,
      tool,
      facts: { gate, because: 'r1 matched', rule: 'r1' },
    }),
    ...after.map(([minute, e], i) => rec(workflowId, i + 2, minute, { ...e, requestId, tool })),
  ];
}

const approve = (by: string, closed = true, groups = ['finance']) =>
  ({ kind: 'decision', actor: by, facts: { decision: 'approve', signer: by, groups, closed } }) as const;

describe('audit stats', () => {
  it('tells how each request ended and how long its decision took, from facts and never from the sentences', () => {
    const records = [
      ...story('w1', 'issue_refund', 'hard', [
        [2, approve('fiona')],
        [3, { kind: 'tool_executed', actor: 'system' }],
      ]),
      ...story('w2', 'issue_refund', 'hard', [
        [1, approve('fiona', false)],
        [4, { kind: 'decision', actor: 'frank', facts: { decision: 'edit', groups: ['finance'], closed: true } }],
      ]),
      ...story('w3', 'issue_refund', 'hard', [
        [
          10,
          { kind: 'decision', actor: 'x', facts: { decision: 'reject', signer: 'felix', groups: [], closed: true } },
        ],
      ]),
      ...story('w4', 'issue_refund', 'hard', [
        [30, { kind: 'approval_escalated', actor: 'system', facts: { gate: 'hard', stage: 1 } }],
        [60, { kind: 'approval_expired', actor: 'system', facts: { gate: 'hard' } }],
      ]),
      ...story('w5', 'issue_refund', 'hard', [
        [6, approve('ada', true, ['admins'])],
        [7, { kind: 'approval_reopened', actor: 'system', facts: { gate: 'hard' } }],
      ]),
      ...story('w6', 'send_email', 'soft', [[5, { kind: 'tool_executed', actor: 'system' }]]),
      ...story('w7', 'send_email', 'soft', []),
      // Opened before entries carried facts: left out.
      rec('w8', 1, 0, { kind: 'approval_requested', actor: 'agent', requestId: 'old', tool: 'issue_refund' }),
    ];
    const stats = auditStats(records);
    assert.equal(stats.requests, 7);
    const [refunds, emails] = stats.gates;
    assert.deepEqual(refunds?.ends, {
      approved: 2,
      edited: 1,
      rejected: 1,
      responded: 0,
      expired: 1,
      proceeded: 0,
      open: 0,
    });
    assert.equal(refunds?.escalated, 1);
    assert.equal(refunds?.precheckStopped, 1);
    // Decision times of w1, w2, w3, w5: 2, 4, 10 and 6 minutes; nearest rank.
    assert.equal(refunds?.medianDecisionMs, 4 * 60_000);
    assert.equal(refunds?.p90DecisionMs, 10 * 60_000);
    assert.deepEqual(emails?.ends.proceeded, 1);
    assert.deepEqual(emails?.ends.open, 1);
    // The verified signer counts, not the label the decision arrived under.
    assert.deepEqual(
      stats.people.map((p) => [p.person, p.approved, p.edited, p.rejected]),
      [
        ['ada', 1, 0, 0],
        ['felix', 0, 0, 1],
        ['fiona', 2, 0, 0],
        ['frank', 0, 1, 0],
      ],
    );
    assert.deepEqual(stats.groups, [
      { group: 'finance', approvals: 3 },
      { group: 'admins', approvals: 1 },
    ]);
    assert.equal(auditStats(records, { tool: 'send_email' }).requests, 2);
    assert.equal(percentile([], 0.5), undefined);
    assert.equal(percentile([5, 1, 3], 0.5), 3);
  });

  it('recommends nothing on a handful of decisions, however one-sided', () => {
    const records = Array.from({ length: 5 }, (_, i) =>
      story(`w${i}`, 'send_email', 'hard', [[1, approve('sam')]]),
    ).flat();
    assert.deepEqual(recommend(auditStats(records)), []);
    assert.equal(recommend(auditStats(records), { minRequests: 5 })[0]?.kind, 'lighter_gate');
  });

  it('suggests a lighter gate on the named rule of the file, keeps its comments, and skips what the file does not say', () => {
    const text = [
      'version: "1"',
      'tools:',
      '  # emails cannot be unsent',
      '  send_email:',
      '    gate: soft',
      '    rules:',
      '      - name: several recipients',
      '        when: { arg: customerIds, measure: count, op: gt, value: 1 }',
      '        gate: hard',
      '',
    ].join('\n');
    const lighter = (tool: string, rule: string, gate: 'soft' | 'hard'): Recommendation => ({
      kind: 'lighter_gate',
      tool,
      rule,
      gate,
      lighterGate: gate === 'hard' ? 'soft' : 'auto_logged',
      advice: '',
      evidence: '',
    });
    const s = suggestPolicy('p.yaml', text, [
      lighter('send_email', 'several recipients', 'hard'),
      lighter('issue_refund', '', 'hard'),
      lighter('send_email', 'bulk', 'hard'),
    ]);
    assert.deepEqual(s.changes, ["send_email rule 'several recipients': gate hard → soft"]);
    assert.equal(s.skipped.length, 2);
    // One line changes: the comment and the layout of the rest are kept (a lost comment would show as removed).
    assert.deepEqual(
      s.diff.split('\n').filter((l) => /^[-+] /.test(l)),
      ['-        gate: hard', '+        gate: soft'],
    );
    assert.equal(suggestPolicy('p.yaml', text, []).diff, '');
  });

  it('finds exactly the habits of the seeded reviewers, and hitl stats prints them with their evidence', async () => {
    const path = join(tempDir('hitl-stats-'), 'audit.sqlite');
    const store = openSqliteAuditStore(path);
    const perHabit = 8;
    try {
      await withWorker(async (h) => seedReviewedRuns(h, perHabit), { auditStore: store });
    } finally {
      await store.close();
    }
    const shown = await hitl(['stats', '--db', path, '--json', '--min-requests', String(perHabit)]);
    assert.equal(shown.code, 0, shown.stderr);
    const out = JSON.parse(shown.stdout) as ReturnType<typeof auditStats> & { recommendations: Recommendation[] };
    assert.equal(out.requests, 3 * perHabit);
    const row = (tool: string) => out.gates.find((g) => g.tool === tool)?.ends;
    assert.equal(row(HABITS.approvesEverything.tool)?.approved, perHabit);
    assert.equal(row(HABITS.editsAmounts.tool)?.edited, perHabit);
    assert.equal(row(HABITS.letsExpire.tool)?.expired, perHabit);
    // The seeded calls touch rows that exist: every approved call ran, none was stopped by its precheck.
    assert.deepEqual(
      out.gates.map((g) => [g.tool, g.precheckStopped]),
      out.gates.map((g) => [g.tool, 0]),
    );
    assert.deepEqual(
      out.people.map((p) => [p.person, p.approved, p.edited]),
      [
        ['fiona', 0, perHabit],
        ['sam', perHabit, 0],
      ],
    );
    assert.deepEqual(out.groups, [
      { group: 'finance', approvals: perHabit },
      { group: 'support', approvals: perHabit },
    ]);
    assert.deepEqual(
      out.recommendations.map((r) => [r.kind, r.tool, r.lighterGate]),
      [
        ['timeout_or_group', 'delete_customer', undefined],
        ['unclear_arguments', 'issue_refund', undefined],
        ['lighter_gate', 'send_email', 'soft'],
      ],
    );
    const text = await hitl(['stats', '--db', path, '--min-requests', String(perHabit)]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /send_email \(hard gate\) is approved unedited nearly always: consider a soft gate/);
    assert.match(text.stdout, new RegExp(`evidence: approved unedited ${perHabit} of ${perHabit} \\(100%\\)`));
    // With the default minimum sample (20 decided requests per row), 8 decisions each recommend nothing.
    const strict = await hitl(['stats', '--db', path]);
    assert.match(strict.stdout, /no recommendations/);
    // The suggested policy: the email gate one step lighter, as a diff of the file; nothing else changes.
    const policyFile = join(tempDir('hitl-stats-policy-'), 'policy.yaml');
    const policyText = stringify(SEED_POLICY);
    writeFileSync(policyFile, policyText);
    const suggested = await hitl([
      'stats',
      '--db',
      path,
      '--min-requests',
      '8',
      '--suggest-policy',
      '--policy',
      policyFile,
    ]);
    assert.equal(suggested.code, 0, suggested.stderr);
    const changed = suggested.stdout.split('\n').filter((l) => /^[-+] /.test(l));
    assert.deepEqual(changed, ['-    gate: hard', '+    gate: soft']);
    assert.match(suggested.stderr, /suggested: send_email: gate hard → soft/);
    assert.equal(readFileSync(policyFile, 'utf8'), policyText, 'nothing was written');
    const bad = await hitl(['stats', '--db', path, '--min-requests', 'many']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--min-requests/);
  });
});
