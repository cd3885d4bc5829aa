import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, type Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { countRefunds } from '../activities/billing/index';
import { pendingApprovals } from '../client';
import { startCodecServer } from '../src/node/codec/codec-server';
import { EncryptionCodec, KEY_ID_METADATA } from '../src/node/codec/encryption-codec';
import { addPayloadKey, loadPayloadKeys, parsePayloadKeys, type PayloadKeys } from '../src/node/codec/payload-keys';
import { ConfigError } from '../src/shared/errors';
import type { AgentRunResult } from '../src/shared/run-state';
import { approveAs } from './support/decisions';
import { sharedEnv, tempDir } from './support/env';
import { answer, call, withWorker } from './support/harness';

const run = promisify(execFile);
const enc = new TextEncoder();
const dec = new TextDecoder();

function keysWith(...ids: string[]): { file: string; keys: PayloadKeys } {
  const file = join(tempDir('hitl-keys-'), 'payload-keys.json');
  for (const id of ids) addPayloadKey(file, id);
  const keys = loadPayloadKeys(file);
  assert.ok(keys);
  return { file, keys };
}

function jsonPayload(value: unknown): Payload {
  return { metadata: { encoding: enc.encode('json/plain') }, data: enc.encode(JSON.stringify(value)) };
}

async function failureType(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return err instanceof ApplicationFailure ? (err.type ?? undefined) : `not an ApplicationFailure: ${String(err)}`;
  }
  return undefined;
}

describe('payload codec: AES-256-GCM with key ids', () => {
  it('encrypts a payload so its bytes do not show the plaintext, and decrypts it back', async () => {
    const { keys } = keysWith('k1');
    const codec = new EncryptionCodec(keys);
    const plain = jsonPayload({ customer: 'Astrid Gruber', email: 'astrid@example.org' });
    const [sealed] = await codec.encode([plain]);
    assert.ok(sealed?.data);
    assert.equal(dec.decode(sealed.metadata?.['encoding']), 'binary/encrypted');
    assert.equal(dec.decode(sealed.metadata?.[KEY_ID_METADATA]), 'k1');
    assert.ok(!Buffer.from(sealed.data).includes('Astrid'), 'the ciphertext does not contain the name');
    const [opened] = await codec.decode([sealed]);
    assert.equal(dec.decode(opened?.data), JSON.stringify({ customer: 'Astrid Gruber', email: 'astrid@example.org' }));
    assert.equal(dec.decode(opened?.metadata?.['encoding']), 'json/plain');
  });

  it('rotates: encrypts with the current key and still decrypts what an older key encrypted', async () => {
    const { file, keys: first } = keysWith('k1');
    const [old] = await new EncryptionCodec(first).encode([jsonPayload('before rotation')]);
    addPayloadKey(file, 'k2');
    const rotated = loadPayloadKeys(file);
    assert.ok(rotated && old);
    const codec = new EncryptionCodec(rotated);
    const [fresh] = await codec.encode([jsonPayload('after rotation')]);
    assert.equal(dec.decode(fresh?.metadata?.[KEY_ID_METADATA]), 'k2');
    const [a, b] = await codec.decode([old, fresh as Payload]);
    assert.equal(dec.decode(a?.data), '"before rotation"');
    assert.equal(dec.decode(b?.data), '"after rotation"');
  });

  it('refuses a payload of an unlisted key, an altered one and one relabelled with another key id', async () => {
    const { keys } = keysWith('k1', 'k2');
    const codec = new EncryptionCodec(keys);
    const [sealed] = await codec.encode([jsonPayload('secret')]);
    assert.ok(sealed?.data);
    const other = new EncryptionCodec(keysWith('k9').keys);
    assert.equal(await failureType(other.decode([sealed])), 'PayloadKeyUnknown');
    const altered = Buffer.from(sealed.data);
    altered[20] = (altered[20] ?? 0) ^ 1;
    assert.equal(await failureType(codec.decode([{ ...sealed, data: altered }])), 'PayloadTampered');
    const relabelled = { ...sealed, metadata: { ...sealed.metadata, [KEY_ID_METADATA]: enc.encode('k1') } };
    assert.equal(await failureType(codec.decode([relabelled])), 'PayloadTampered');
    // A payload that was never encrypted (history from before encryption) passes through.
    const [plain] = await codec.decode([jsonPayload('plain')]);
    assert.equal(dec.decode(plain?.data), '"plain"');
  });

  it('refuses a key file whose key is not 32 bytes or whose current key is missing, naming the file', () => {
    assert.throws(
      () =>
        parsePayloadKeys(JSON.stringify({ current: 'a', keys: { a: Buffer.alloc(16).toString('base64') } }), 'f.json'),
      (err: unknown) =>
        err instanceof ConfigError && /f\.json: key "a" must be the base64 of 32 bytes, got 16/.test(err.message),
    );
    assert.throws(
      () =>
        parsePayloadKeys(JSON.stringify({ current: 'b', keys: { a: Buffer.alloc(32).toString('base64') } }), 'f.json'),
      (err: unknown) =>
        err instanceof ConfigError && /f\.json is invalid: .*"b" is not one of the keys/.test(err.message),
    );
    assert.equal(loadPayloadKeys(undefined, {}), undefined, 'no file named: payloads stay plain');
  });
});

describe('payload codec: a run whose payloads are encrypted', () => {
  const customer = 'Zanzibar-Customer-4471';
  const refund = { invoiceId: 1, amountCents: 500, reason: `${customer} was charged twice` };

  it('keeps the history ciphertext at rest while the run works, decides and completes as usual', async () => {
    const { keys } = keysWith('k1');
    const { env, cliPath, address } = await sharedEnv();
    await withWorker(
      async (h) => {
        const started = await h.startScripted(
          [call('issue_refund', refund, `Refund ${customer}.`), answer(`done for ${customer}`)],
          {
            goal: `help ${customer}`,
          },
        );
        const [req] = await h.pending(started.workflowId);
        assert.ok(req);
        assert.match(req.reasoning ?? '', new RegExp(customer), 'the encrypting client reads the request');

        // A client without the key sees ciphertext it cannot decode.
        await assert.rejects(pendingApprovals(env.client, started.workflowId), /encoding|binary\/encrypted/i);

        await approveAs(h.client, started.workflowId, req, 'alice');
        const result = (await started.result()) as AgentRunResult;
        assert.equal(result.answer, `done for ${customer}`);
        assert.equal(countRefunds(h.db, 1), 1);

        // The history as stored: no payload, summary, memo or failure shows the customer's name.
        const { history } = await env.client.workflowService.getWorkflowExecutionHistory({
          namespace: env.client.options.namespace,
          execution: { workflowId: started.workflowId },
        });
        const raw = Buffer.from(proto.temporal.api.history.v1.History.encode(history ?? {}).finish());
        assert.ok(raw.length > 1000);
        assert.ok(!raw.includes(customer), 'the stored history does not contain the customer name');
        assert.ok(raw.includes('binary/encrypted'), 'payloads are marked encrypted');
        assert.ok(raw.includes('AwaitingApproval'), 'search attributes stay plain, so listing still works');

        // The codec server turns it back into plaintext for the temporal CLI, and only for a caller with the token.
        const token = 'test-token-0123456789abcdef';
        const server = await startCodecServer({
          codec: new EncryptionCodec(keys),
          tokens: [token],
          origins: ['http://localhost:8233'],
          port: 0,
        });
        try {
          const show = (auth: string[]) =>
            run(
              cliPath,
              [
                'workflow',
                'show',
                '--address',
                address,
                '--namespace',
                env.client.options.namespace,
                '-w',
                started.workflowId,
                '--output',
                'json',
                '--codec-endpoint',
                server.url,
                ...auth,
              ],
              { maxBuffer: 64 * 2 ** 20 },
            );
          // The JSON output gives each payload's data as base64: read them all.
          const payloadTexts = (out: string) =>
            [...out.matchAll(/"data": "([A-Za-z0-9+/=]*)"/g)].map((m) => Buffer.from(m[1] ?? '', 'base64').toString());
          const decoded = await show(['--codec-auth', `Bearer ${token}`]);
          assert.ok(
            payloadTexts(decoded.stdout).some((t) => t.includes(customer)),
            'the CLI shows plaintext through the codec server',
          );
          const refused = await show([]).then(
            (r) => r.stdout + r.stderr,
            (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
          );
          assert.ok(!payloadTexts(refused).some((t) => t.includes(customer)), 'without the token: no plaintext');

          const [sealed] = await new EncryptionCodec(keys).encode([jsonPayload(customer)]);
          const body = JSON.stringify({
            payloads: [
              {
                metadata: Object.fromEntries(
                  Object.entries(sealed?.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
                ),
                data: Buffer.from(sealed?.data ?? []).toString('base64'),
              },
            ],
          });
          const post = (headers: Record<string, string>) =>
            fetch(`${server.url}/decode`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json', ...headers },
              body,
            });
          assert.equal((await post({})).status, 401);
          assert.equal((await post({ Authorization: 'Bearer wrong-token-0123456789' })).status, 403);
          const ok = await post({ Authorization: `Bearer ${token}`, 'X-Namespace': 'default' });
          assert.equal(ok.status, 200);
          const out = (await ok.json()) as { payloads: { data: string }[] };
          assert.equal(Buffer.from(out.payloads[0]?.data ?? '', 'base64').toString(), JSON.stringify(customer));

          const preflight = (origin: string) =>
            fetch(`${server.url}/decode`, {
              method: 'OPTIONS',
              headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
            });
          const allowed = await preflight('http://localhost:8233');
          assert.equal(allowed.status, 204);
          assert.equal(allowed.headers.get('access-control-allow-origin'), 'http://localhost:8233');
          assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /Authorization/);
          const foreign = await preflight('http://evil.example');
          assert.equal(foreign.status, 403);
          assert.equal(foreign.headers.get('access-control-allow-origin'), null);
        } finally {
          await server.close();
        }
      },
      { payloadKeys: keys },
    );
  });

  it('encrypts failure messages: the stored failure says "Encoded failure", the keyed client reads the reason', async () => {
    const { keys } = keysWith('k1');
    const { env } = await sharedEnv();
    await withWorker(
      async (h) => {
        const policyName = `no-such-policy-${customer}`;
        const started = await h.startScripted([answer('never')], { policy: policyName });
        const failure = await started.result().then(
          () => assert.fail('a run naming an unknown policy fails'),
          (err: unknown) => err,
        );
        assert.ok(failure instanceof WorkflowFailedError);
        assert.match(String(failure.cause?.message), new RegExp(policyName), 'the keyed client reads the real message');
        const { history } = await env.client.workflowService.getWorkflowExecutionHistory({
          namespace: env.client.options.namespace,
          execution: { workflowId: started.workflowId },
        });
        const failed = history?.events?.find((e) => e.workflowExecutionFailedEventAttributes != null);
        assert.equal(failed?.workflowExecutionFailedEventAttributes?.failure?.message, 'Encoded failure');
        const raw = Buffer.from(proto.temporal.api.history.v1.History.encode(history ?? {}).finish());
        assert.ok(!raw.includes(customer), 'neither the message nor the stack trace is stored in plain text');
      },
      { payloadKeys: keys },
    );
  });
});
