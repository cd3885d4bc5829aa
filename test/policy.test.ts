import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { configError } from './support/policies';
import { checkAuthority, editAllowed, eligibleApprovers } from '../src/shared/policy/authority';
import { DEFAULT_POLICY } from '../src/shared/policy/default-policy';
import { gateRank, resolveGate, strongerGate, type ResolveContext } from '../src/shared/policy/evaluate';
import { loadPolicyFile, resolvePolicy } from '../src/node/policy-file';
import { PolicySchema, type Policy, type PolicyInput } from '../src/shared/policy/schema';
import { findTool } from '../src/shared/tools/catalog';

const EXAMPLE = fileURLToPath(new URL('../policies/example.yaml', import.meta.url));
const example = loadPolicyFile(EXAMPLE);
const ctx: ResolveContext = { autoLoggedCount: 0 };
const MIN = 60_000;

function gate(policy: Policy, name: string, args: unknown, context: ResolveContext = ctx) {
  const tool = findTool(name);
  return resolveGate(
    policy,
    { name, ...(tool !== undefined ? { classification: tool.classification } : {}) },
    args,
    context,
  );
}

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'hitl-policy-')), name);
  writeFileSync(path, text);
  return path;
}

function policy(input: Partial<PolicyInput>): Policy {
  return PolicySchema.parse({ version: 't', ...input });
}

describe('policy: the example file', () => {
  it('parses to plain JSON that parses again unchanged', () => {
    assert.equal(example.version, '2026-11-22.1');
    assert.deepEqual(JSON.parse(JSON.stringify(example)), example);
    assert.deepEqual(PolicySchema.parse(example), example);
    assert.deepEqual(example.interruptions, {
      budgetUsd: 1,
      pricing: { promptPerMillionUsd: 0.15, completionPerMillionUsd: 0.6 },
      checkInEvery: 0,
    });
  });

  it('lets reads run at once', () => {
    for (const name of ['find_customers', 'list_invoices', 'get_invoice'])
      assert.equal(gate(example, name, {}).kind, 'auto');
  });

  it('gives an email to one customer a soft gate with a five-minute veto window', () => {
    const g = gate(example, 'send_email', { customerIds: [1], subject: 's', body: 'b' });
    assert.equal(g.kind, 'soft');
    assert.equal(g.softWindowMs, 5 * MIN);
    assert.deepEqual(g.stages, [{ groups: ['support'], timeoutMs: 5 * MIN }]);
    assert.equal(g.because, 'send_email default gate');
  });

  it('needs support approval for an email to six customers (bulk) and to three (several recipients)', () => {
    const six = gate(example, 'send_email', { customerIds: [1, 2, 3, 4, 5, 6] });
    assert.equal(six.kind, 'hard');
    assert.deepEqual(six.stages[0]?.groups, ['support']);
    assert.equal(six.because, "send_email rule 'bulk email' (count(customerIds) > 5)");
    const three = gate(example, 'send_email', { customerIds: [1, 2, 3] });
    assert.equal(three.kind, 'hard');
    assert.deepEqual(three.stages[0]?.groups, ['support']);
    assert.match(three.because, /several recipients/);
  });

  it('sends a refund under $50 to support for 30 minutes, then escalates it to admins for 4 hours', () => {
    const g = gate(example, 'issue_refund', { invoiceId: 1, amountCents: 4999, reason: 'r' });
    assert.equal(g.kind, 'hard');
    assert.equal(g.quorum, 1);
    assert.deepEqual(g.stages, [
      { groups: ['support'], timeoutMs: 30 * MIN },
      { groups: ['admins'], timeoutMs: 240 * MIN },
    ]);
    assert.equal(g.because, 'issue_refund default gate');
  });

  it('needs two finance approvals for a refund of $50 or more', () => {
    const g = gate(example, 'issue_refund', { invoiceId: 1, amountCents: 5000, reason: 'r' });
    assert.equal(g.kind, 'hard');
    assert.equal(g.quorum, 2);
    assert.deepEqual(g.stages[0], { groups: ['finance'], timeoutMs: 30 * MIN });
    assert.equal(g.because, "issue_refund rule 'large refund' (amountCents >= 5000)");
  });

  it('lets only admins delete a customer, within the hour, with no escalation', () => {
    const g = gate(example, 'delete_customer', { customerId: 1, reason: 'r' });
    assert.deepEqual(g.stages, [{ groups: ['admins'], timeoutMs: 60 * MIN }]);
    assert.deepEqual(eligibleApprovers(example, g.stages[0]?.groups ?? []), ['ada', 'alan']);
  });

  it('takes the run timeout for a hard gate the policy gives no timeout', () => {
    const g = gate(example, 'send_email', { customerIds: [1, 2] }, { autoLoggedCount: 0, defaultTimeoutMs: 7 * MIN });
    assert.equal(g.stages[0]?.timeoutMs, 7 * MIN);
  });

  it('fails closed on a tool the policy does not know, with admins deciding', () => {
    const g = gate(example, 'purge_everything', {});
    assert.equal(g.kind, 'hard');
    assert.deepEqual(g.stages[0]?.groups, ['admins']);
    assert.match(g.because, /^unclassified tool: fail closed/);
  });

  it('turns auto_logged into hard once the per-run limit is reached', () => {
    const args = { customerId: 1, email: 'a@b.co' };
    assert.equal(gate(example, 'update_customer_contact', args, { autoLoggedCount: 19 }).kind, 'auto_logged');
    const past = gate(example, 'update_customer_contact', args, { autoLoggedCount: 20 });
    assert.equal(past.kind, 'hard');
    assert.match(past.because, /limit of 20 auto_logged calls/);
  });
});

describe('policy: gate resolution', () => {
  it('orders gates auto < auto_logged < soft < hard < deny', () => {
    assert.deepEqual(
      ['deny', 'soft', 'auto', 'hard', 'auto_logged'].map((k) => gateRank(k as 'auto')),
      [4, 2, 0, 3, 1],
    );
    assert.equal(strongerGate('soft', 'hard'), 'hard');
    assert.equal(strongerGate('deny', 'auto'), 'deny');
  });

  it('raises an auto unclassified default to hard for a keyword name, but never lowers a deny', () => {
    const open = policy({ unclassified: { gate: 'auto' } });
    assert.equal(gate(open, 'fetch_weather', {}).kind, 'auto');
    const wire = gate(open, 'wire_funds', {});
    assert.equal(wire.kind, 'hard');
    assert.match(wire.because, /name contains "wire"/);
    assert.equal(gate(policy({ unclassified: { gate: 'deny' } }), 'delete_everything', {}).kind, 'deny');
  });

  it('keeps a catalog tool the policy does not list at hard or stronger', () => {
    const open = policy({ unclassified: { gate: 'auto' }, tools: {} });
    assert.equal(gate(open, 'get_invoice', { invoiceId: 1 }).kind, 'hard');
  });

  it('treats a missing argument as a condition that does not hold, ne included', () => {
    const p = policy({
      tools: {
        t: {
          gate: 'auto',
          rules: [{ name: 'not us', when: { arg: 'a.country', op: 'ne', value: 'US' }, gate: 'deny' }],
        },
      },
    });
    assert.equal(gate(p, 't', {}).kind, 'auto');
    assert.equal(gate(p, 't', { a: { country: 'FR' } }).kind, 'deny');
    assert.equal(gate(p, 't', { a: { country: 'US' } }).kind, 'auto');
  });

  it('matches all/any conditions, in-lists and string lengths without coercing types', () => {
    const p = policy({
      tools: {
        t: {
          gate: 'auto',
          rules: [
            {
              name: 'both',
              when: {
                all: [
                  { arg: 'n', op: 'gte', value: 10 },
                  { arg: 'c', op: 'in', value: ['x', 'y'] },
                ],
              },
              gate: 'deny',
            },
            { name: 'long', when: { any: [{ arg: 's', measure: 'count', op: 'gt', value: 3 }] }, gate: 'hard' },
          ],
        },
      },
    });
    assert.equal(gate(p, 't', { n: 10, c: 'y' }).kind, 'deny');
    assert.equal(gate(p, 't', { n: '10', c: 'y' }).kind, 'auto');
    assert.equal(gate(p, 't', { s: 'abcd' }).kind, 'hard');
    assert.equal(gate(p, 't', { s: 'abc' }).kind, 'auto');
  });
});

describe('policy: the built-in default', () => {
  it('reproduces the behaviour without a policy: irreversible is hard, the rest runs at once', () => {
    assert.equal(gate(DEFAULT_POLICY, 'issue_refund', { amountCents: 1_000_000 }).kind, 'hard');
    assert.equal(gate(DEFAULT_POLICY, 'delete_customer', {}).kind, 'hard');
    assert.equal(gate(DEFAULT_POLICY, 'send_email', { customerIds: [1, 2, 3, 4, 5, 6, 7] }).kind, 'hard');
    assert.equal(gate(DEFAULT_POLICY, 'update_customer_contact', {}, { autoLoggedCount: 1_000 }).kind, 'auto');
    assert.equal(gate(DEFAULT_POLICY, 'find_customers', {}).kind, 'auto');
    assert.deepEqual(PolicySchema.parse(DEFAULT_POLICY), DEFAULT_POLICY);
  });

  it('lets anyone decide, the requester included, within the run timeout, denied at the deadline', () => {
    const g = gate(DEFAULT_POLICY, 'issue_refund', {}, { autoLoggedCount: 0, defaultTimeoutMs: 90_000 });
    assert.deepEqual(g.stages, [{ groups: [], timeoutMs: 90_000 }]);
    assert.equal(g.quorum, 1);
    assert.equal(g.reminderBeforeMs, 0);
    assert.deepEqual(checkAuthority(DEFAULT_POLICY, g, 0, 'alice', 'bob'), { ok: true });
    assert.deepEqual(checkAuthority(DEFAULT_POLICY, g, 0, 'bob', 'bob'), { ok: true });
  });
});

describe('policy: authority', () => {
  const small = gate(example, 'issue_refund', { invoiceId: 1, amountCents: 4999, reason: 'r' });
  const large = gate(example, 'issue_refund', { invoiceId: 1, amountCents: 5000, reason: 'r' });

  it('refuses someone outside the deciding groups, naming the groups', () => {
    assert.deepEqual(checkAuthority(example, large, 0, 'mallory', 'bob'), {
      ok: false,
      reason: '"mallory" is not in finance (the groups that may decide this request now)',
    });
  });

  it('refuses the requester under separation of duties', () => {
    assert.deepEqual(checkAuthority(example, large, 0, 'fiona', 'fiona'), {
      ok: false,
      reason: '"fiona" requested this run and may not decide its requests (separation of duties)',
    });
  });

  it('accepts a finance member, and admins only once the request has escalated', () => {
    assert.deepEqual(checkAuthority(example, large, 0, 'frank', 'bob'), { ok: true });
    assert.equal(checkAuthority(example, small, 0, 'ada', 'bob').ok, false);
    assert.deepEqual(checkAuthority(example, small, 1, 'ada', 'bob'), { ok: true });
  });

  it('refuses a support member who edits a refund up to $50, and accepts a finance member', () => {
    const refused = editAllowed(example, small, large, 'sam', 'bob');
    assert.equal(refused.ok, false);
    assert.match(
      refused.ok ? '' : refused.reason,
      /hard by support, quorum 1 .*to hard by finance, quorum 2 .*"sam" is not in finance/,
    );
    assert.deepEqual(editAllowed(example, small, large, 'fiona', 'bob'), { ok: true });
  });

  it('accepts an edit that keeps the same deciders, and refuses one that moves the call to other deciders', () => {
    const smaller = gate(example, 'issue_refund', { invoiceId: 1, amountCents: 3000, reason: 'r' });
    assert.deepEqual(editAllowed(example, small, smaller, 'sam', 'bob'), { ok: true });
    // Groups have no ranking: finance may not approve a call that, once edited, is support's to decide.
    assert.equal(editAllowed(example, large, small, 'fiona', 'bob').ok, false);
  });

  it('refuses an edit whose arguments the policy denies', () => {
    const denied = { ...small, kind: 'deny' as const, stages: [], because: 'test' };
    assert.equal(editAllowed(example, small, denied, 'ada', 'bob').ok, false);
  });
});

describe('policy: loading files', () => {
  it('names an unknown key with its line and column', () => {
    const path = tempFile('x.yaml', 'version: v1\ntools:\n  send_email:\n    gate: soft\n    rulez: []\n');
    const message = configError(() => loadPolicyFile(path));
    assert.ok(message.includes(`${path}:5:5: tools.send_email.rulez: unknown key "rulez"`), message);
  });

  it('refuses a group in approvers that does not exist', () => {
    const path = tempFile(
      'g.yaml',
      'version: v1\ngroups: { support: [sam] }\ntools:\n  t: { gate: hard, approvers: { groups: [finance] } }\n',
    );
    const message = configError(() => loadPolicyFile(path));
    assert.match(message, /:4:\d+: tools\.t\.approvers\.groups\.0: unknown group "finance" \(groups: support\)/);
  });

  it('refuses a quorum larger than the group', () => {
    const path = tempFile(
      'q.yaml',
      'version: v1\ngroups: { finance: [fiona, frank] }\ntools:\n  t:\n    gate: hard\n    approvers: { groups: [finance], quorum: 3 }\n',
    );
    const message = configError(() => loadPolicyFile(path));
    assert.match(
      message,
      /:6:\d+: tools\.t\.approvers\.quorum: quorum 3 needs more distinct people than finance \(2: fiona, frank\)/,
    );
  });

  it('refuses a quorum that an escalation stage cannot reach', () => {
    const parsed = PolicySchema.safeParse({
      version: 'v1',
      groups: { finance: ['fiona', 'frank'], admins: ['ada'] },
      tools: {
        t: {
          gate: 'hard',
          approvers: { groups: ['finance'], quorum: 2 },
          escalation: [{ groups: ['admins'], timeout: '1h' }],
        },
      },
    });
    assert.deepEqual(
      parsed.error?.issues.map((i) => [i.path.join('.'), i.message]),
      [['tools.t.escalation.0', 'quorum 2 needs more distinct people than admins (1: ada)']],
    );
  });

  it('accepts tools the catalog does not know (another toolkit may provide them)', () => {
    const p = policy({ tools: { crm_merge_contacts: { gate: 'soft' } } });
    assert.equal(gate(p, 'crm_merge_contacts', {}).kind, 'soft');
  });

  it('gives the line and column of a YAML syntax error', () => {
    const message = configError(() => loadPolicyFile(tempFile('s.yaml', 'version: v1\ngroups: [a\n')));
    assert.match(message, /s\.yaml:\d+:\d+: YAML syntax: /);
  });

  it('reads a JSON policy file too', () => {
    const json = JSON.stringify({
      version: 'j1',
      groups: { ops: ['olga'] },
      tools: { issue_refund: { gate: 'deny' } },
    });
    const p = loadPolicyFile(tempFile('p.json', json));
    assert.equal(p.version, 'j1');
    assert.equal(gate(p, 'issue_refund', {}).kind, 'deny');
    assert.deepEqual(p.defaults.approvers.groups, ['ops']);
  });

  it('takes the explicit path, then HITL_POLICY, then the built-in default', () => {
    assert.equal(resolvePolicy({ path: EXAMPLE, env: {} }).source, EXAMPLE);
    assert.equal(resolvePolicy({ env: { HITL_POLICY: EXAMPLE } }).policy.version, '2026-11-22.1');
    assert.deepEqual(resolvePolicy({ env: {} }), { policy: DEFAULT_POLICY, source: 'built-in default' });
  });
});
