import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { countRefunds } from '../activities/billing/index';
import { auditTrail } from '../client';
import { createKey, loadKey } from '../src/node/identity/keys';
import { parseApproverRegistry } from '../src/node/identity/registry-file';
import { parsePolicyText } from '../src/node/policy-file';
import { ConfigError } from '../src/shared/errors';
import { normalizeName } from '../src/shared/identity/names';
import type { AgentRunResult } from '../src/shared/run-state';
import { RunAuthority } from '../workflows/run/authority';
import type { Closure } from '../workflows/gate/closure';
import { gateSatisfied } from '../workflows/gate/invariant';
import { repoRoot, sharedEnv, tempDir, waitFor } from './support/env';
import { answer, call, withWorker } from './support/harness';
import { testKey, testRegistryLine } from './support/keys';
import { examplePolicy } from './support/policies';

const run = promisify(execFile);

describe('identity: names, keys and the approver registry', () => {
  it('normalises names: NFKC and case folding make one person of several spellings', () => {
    assert.equal(normalizeName('Ｆｉｏｎａ '), 'fiona');
    assert.equal(normalizeName('FIONA'), 'fiona');
    assert.equal(normalizeName('Strauß'), normalizeName('STRAUSS'));
  });

  it('parses the registry, several keys per person and delegation, and names every bad line with its number', () => {
    const lines = [
      '# comment',
      testRegistryLine(testKey('fiona')),
      testRegistryLine({ ...testKey('frank'), name: 'Fiona' }),
      `${testRegistryLine(testKey('slack-bridge'))} signs-for=fiona,Frank`,
    ];
    const registry = parseApproverRegistry(lines.join('\n'), 'approvers');
    assert.equal(registry.keys.filter((k) => k.name === 'fiona').length, 2, 'two keys for fiona (rotation)');
    assert.deepEqual(registry.keys.find((k) => k.name === 'slack-bridge')?.signsFor, ['fiona', 'frank']);
    assert.match(registry.sha256, /^[0-9a-f]{64}$/);
    assert.throws(
      () =>
        parseApproverRegistry(
          ['fiona ed25519', 'sam rsa AAAA', 'sue ed25519 notbase64!', 'ada ed25519 AAAA= x=1'].join('\n'),
          'bad',
        ),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /bad:1: expected "NAME ed25519 BASE64-PUBLIC-KEY"/);
        assert.match(err.message, /bad:2: key type "rsa" is not supported/);
        assert.match(err.message, /bad:3: .* is not a base64 Ed25519 public key/);
        assert.match(err.message, /bad:4: /);
        return true;
      },
    );
  });

  it('writes private keys with mode 0600, refuses to replace one, and refuses to load one others can read', () => {
    const dir = tempDir('hitl-keys-');
    const { file, line } = createKey('Fiona', { dir });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(line, /^fiona ed25519 [A-Za-z0-9+/]{43}=$/);
    assert.equal(loadKey('fiona', dir)?.publicKey, line.split(' ')[2]);
    assert.throws(() => createKey('fiona', { dir }), /exists already/);
    chmodSync(file, 0o644);
    assert.throws(() => loadKey('fiona', dir), /readable by others/);
  });
});

describe('policy: irreversible tools without approval', () => {
  it('refuses a policy that makes an irreversible tool auto, naming the file, the line and the tool', () => {
    const text = ['version: lax', 'tools:', '  issue_refund:', '    gate: auto', ''].join('\n');
    assert.throws(
      () => parsePolicyText(text, 'lax.yaml', 'yaml'),
      /lax\.yaml:4:11: tools\.issue_refund\.gate: issue_refund is irreversible, and gate auto runs it without approval/,
    );
    const acknowledged = text.replace('    gate: auto', '    gate: auto\n    acknowledgeIrreversible: true');
    assert.equal(parsePolicyText(acknowledged, 'lax.yaml', 'yaml').tools['issue_refund']?.gate, 'auto');
  });
});

describe('the last check before a gated call runs', () => {
  const authority = new RunAuthority('bob', 60_000);
  authority.pin({ policy: examplePolicy, source: 'test' });
  const request = (amountCents: number, approvals: string[], stage = 0) =>
    ({
      requestId: 'r',
      tool: 'issue_refund',
      gate: 'hard',
      stage,
      approvals: approvals.map((approver) => ({ approver, at: '' })),
    }) as unknown as Parameters<typeof gateSatisfied>[1];
  const approved: Closure = { kind: 'approved', args: {}, argsHash: '', approvers: [], edited: false, at: '' };
  const args = (amountCents: number) => ({ invoiceId: 1, amountCents, reason: 'x' });

  it('runs a call whose approvals meet the gate of its exact arguments', () => {
    assert.deepEqual(gateSatisfied(authority, request(100, ['sam']), approved, args(100)), { ok: true });
    assert.deepEqual(gateSatisfied(authority, request(6000, ['fiona', 'frank']), approved, args(6000)), { ok: true });
  });

  it('refuses one approval where the arguments need two, approvers of the wrong group, the requester, and a timeout', () => {
    assert.equal(gateSatisfied(authority, request(100, ['sam']), approved, args(6000)).ok, false);
    assert.equal(gateSatisfied(authority, request(6000, ['fiona', 'sam']), approved, args(6000)).ok, false);
    assert.equal(gateSatisfied(authority, request(100, ['bob']), approved, args(100)).ok, false);
    assert.equal(gateSatisfied(authority, request(100, []), { kind: 'proceeded', at: '' }, args(100)).ok, false);
  });
});

describe('hitl keys and hitl sign', () => {
  it('signs with keys made by `hitl keys init`: a signed start, a signed approval, and a signed payload for `temporal`', async () => {
    const { address, cliPath } = await sharedEnv();
    const keysDir = tempDir('hitl-cli-keys-');
    const hitl = (env: NodeJS.ProcessEnv, ...args: string[]) =>
      run(process.execPath, [join(repoRoot, 'bin/hitl.mjs'), '--keys-dir', keysDir, ...args], { env });
    const base = { ...process.env, TEMPORAL_ADDRESS: address };
    const lines: string[] = [];
    for (const person of ['bob', 'sam', 'sue']) {
      const made = await hitl(base, 'keys', 'init', '--as', person);
      lines.push(made.stdout.trim());
      assert.equal((await hitl(base, 'keys', 'show', '--as', person)).stdout.trim(), made.stdout.trim());
    }
    const registry = parseApproverRegistry(lines.join('\n'), 'cli registry');
    await withWorker(
      async (h) => {
        const env = { ...base, HITL_TASK_QUEUE: h.taskQueue };
        const scenario = join(tempDir(), 'scenario.json');
        const refund = (invoiceId: number) => ({ invoiceId, amountCents: 100, reason: 'charged twice' });
        writeFileSync(
          scenario,
          JSON.stringify({
            goal: 'two refunds',
            turns: [call('issue_refund', refund(1)), call('issue_refund', refund(2)), answer('done')],
          }),
        );
        const started = await hitl(env, 'start', '--scenario', scenario, '--as', 'bob', '--json');
        const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
        await h.pending(workflowId);
        const approved = await hitl(env, 'approve', workflowId, '--as', 'sam');
        assert.match(approved.stdout, /approve of .* by sam \(signed\) recorded/);
        const [second] = await waitFor(async () => {
          const p = await h.pending(workflowId);
          return (p[0]?.args as { invoiceId: number }).invoiceId === 2 ? p : undefined;
        }, 'the second refund');
        const payload = (
          await hitl(env, 'sign', 'approve', workflowId, second!.requestId, '--as', 'sue')
        ).stdout.trim();
        await run(cliPath, [
          'workflow',
          'signal',
          '--address',
          address,
          '--workflow-id',
          workflowId,
          '--name',
          'decision',
          '--input',
          payload,
        ]);
        const result = (await h.client.workflow.getHandle(workflowId).result()) as AgentRunResult;
        assert.deepEqual(
          result.outcomes.map((o) => o.decidedBy),
          ['sam', 'sue'],
        );
        assert.equal(countRefunds(h.db), 2);
        const trail = await auditTrail(h.client, workflowId);
        assert.match(trail.find((e) => e.kind === 'run_started')?.detail ?? '', /requested by bob \(signed\)/);
      },
      { policy: { policy: examplePolicy, source: 'policies/example.yaml' }, registry },
    );
  });
});
