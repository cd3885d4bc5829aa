import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { nanoid } from 'nanoid';
import { countRefunds } from '../../activities/billing/index';
import { createKey } from '../../src/node/identity/keys';
import type { AgentRunResult, ApprovalRequest } from '../../src/shared/run-state';
import { hitl } from '../support/cli';
import { freePort } from '../support/dev-server';
import { repoRoot, tempDir, waitFor } from '../support/env';
import { freshBillingDb } from '../support/harness';
import { startPostgresTemporal } from '../support/temporal-postgres';

const exec = promisify(execFile);

/**
 * A CA, the frontend's certificate (for 127.0.0.1 and localhost) and two client certificates signed by the CA (the
 * project's worker and clients; the server's own worker service), made with the openssl CLI.
 */
async function makeCertificates(dir: string): Promise<void> {
  const openssl = (...args: string[]) => exec('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=hitl test CA',
  );
  const leaf = async (name: string, extensions: string): Promise<void> => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    await openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    await openssl(
      ...['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
      ...['-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`],
    );
  };
  await leaf('frontend', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await leaf('hitl-client', 'extendedKeyUsage=clientAuth\n');
  await leaf('system-worker', 'extendedKeyUsage=clientAuth\n');
}

/** The environment without any Temporal connection variable, so only what a test sets applies. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_') || k === 'TEMPORAL_CLI'),
  );
}

describe('mutual TLS with a temporal.toml profile', () => {
  it('runs the worker and hitl through one profile against a server that requires client certificates, and refuses a client without one', async () => {
    const dir = tempDir('hitl-mtls-');
    await makeCertificates(dir);
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    // One profile for the worker, hitl and the temporal CLI that registers the namespace.
    const profile = join(dir, 'temporal.toml');
    writeFileSync(
      profile,
      [
        '[profile.mtls]',
        `address = "${address}"`,
        'namespace = "default"',
        '[profile.mtls.tls]',
        `client_cert_path = "${join(dir, 'hitl-client.pem')}"`,
        `client_key_path = "${join(dir, 'hitl-client.key')}"`,
        `server_ca_cert_path = "${join(dir, 'ca.pem')}"`,
        '',
      ].join('\n'),
    );
    const profileEnv = { TEMPORAL_CONFIG_FILE: profile, TEMPORAL_PROFILE: 'mtls' };
    const server = await startPostgresTemporal({
      frontendPort: port,
      env: {
        TEMPORAL_TLS_FRONTEND_CERT: join(dir, 'frontend.pem'),
        TEMPORAL_TLS_FRONTEND_KEY: join(dir, 'frontend.key'),
        TEMPORAL_TLS_REQUIRE_CLIENT_AUTH: 'true',
        TEMPORAL_TLS_CLIENT1_CA_CERT: join(dir, 'ca.pem'),
        TEMPORAL_TLS_SYSTEM_WORKER_CERT: join(dir, 'system-worker.pem'),
        TEMPORAL_TLS_SYSTEM_WORKER_KEY: join(dir, 'system-worker.key'),
        TEMPORAL_TLS_SERVER_CA_CERT: join(dir, 'ca.pem'),
        // The name the server's own clients of the frontend check its certificate against.
        TEMPORAL_TLS_FRONTEND_SERVER_NAME: 'localhost',
      },
      client: {
        env: profileEnv,
        connection: {
          tls: {
            serverRootCACertificate: readFileSync(join(dir, 'ca.pem')),
            clientCertPair: {
              crt: readFileSync(join(dir, 'hitl-client.pem')),
              key: readFileSync(join(dir, 'hitl-client.key')),
            },
          },
        },
      },
    });

    const keysDir = join(dir, 'keys');
    const registry = join(dir, 'approvers.txt');
    writeFileSync(registry, ['bob', 'sam'].map((name) => `${createKey(name, { dir: keysDir }).line}\n`).join(''));
    const billing = freshBillingDb();
    const taskQueue = `mtls-${nanoid(8)}`;
    const common = { ...cleanEnv(), ...profileEnv, HITL_TASK_QUEUE: taskQueue, FORCE_COLOR: undefined };
    const worker = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'worker.ts')], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...common,
        HITL_POLICY: join(repoRoot, 'policies/example.yaml'),
        HITL_APPROVERS: registry,
        HITL_BILLING_DB: billing.path,
        HITL_TRANSCRIPT_DB: join(dir, 'transcripts.sqlite'),
        HITL_AUDIT_DB: join(dir, 'audit.sqlite'),
        HITL_STATE_KEY: randomBytes(32).toString('base64'),
        HITL_LOG_LEVEL: 'info',
      },
    });
    let workerOut = '';
    worker.stdout.on('data', (chunk: Buffer) => (workerOut += chunk.toString('utf8')));
    worker.stderr.on('data', (chunk: Buffer) => (workerOut += chunk.toString('utf8')));
    const workerExited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    try {
      const started = await waitFor(
        () => {
          if (worker.exitCode !== null) return { exited: workerOut };
          const line = workerOut.split('\n').find((l) => l.includes('"worker started"'));
          return line !== undefined ? (JSON.parse(line) as { address: string; tls: string }) : undefined;
        },
        'the worker to connect',
        120_000,
      );
      if ('exited' in started) assert.fail(`the worker exited: ${started.exited}`);
      assert.equal(started.address, address);
      assert.equal(started.tls, 'on');

      const scenario = join(dir, 'scenario.json');
      writeFileSync(
        scenario,
        JSON.stringify({
          goal: 'Refund the duplicate charge on invoice 1',
          turns: [
            { toolCalls: [{ name: 'issue_refund', arguments: { invoiceId: 1, amountCents: 500, reason: 'dup' } }] },
            { content: 'Refunded $5.00.' },
          ],
        }),
      );
      const env = { ...common, HITL_KEYS_DIR: keysDir };
      const run = await hitl(['start', '--scenario', scenario, '--as', 'bob', '--json'], env);
      assert.equal(run.code, 0, run.stderr);
      const { workflowId } = JSON.parse(run.stdout) as { workflowId: string };
      const [request] = await waitFor(async () => {
        const out = await hitl(['pending', '--json'], env);
        const { requests } = JSON.parse(out.stdout) as { requests: ApprovalRequest[] };
        const mine = requests.filter((r) => r.workflowId === workflowId);
        return mine.length === 1 ? mine : undefined;
      }, 'the request in `hitl pending`');
      assert.equal(request?.tool, 'issue_refund');
      const approved = await hitl(['approve', workflowId, '--as', 'sam'], env);
      assert.equal(approved.code, 0, approved.stderr);
      const result = JSON.parse((await hitl(['result', workflowId, '--json'], env)).stdout) as AgentRunResult;
      assert.equal(result.outcomes[0]?.status, 'executed');
      assert.equal(result.outcomes[0]?.decidedBy, 'sam');
      assert.equal(countRefunds(billing.db), 1);

      // The same CA and server, no client certificate: the server refuses the handshake, and hitl says whom it
      // could not reach (exit 3). Plain text gets no further.
      const noCert = {
        ...cleanEnv(),
        TEMPORAL_ADDRESS: address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.pem'),
      };
      const refused = await hitl(['pending'], noCert);
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stderr, new RegExp(`cannot reach Temporal at ${address} \\(namespace default, TLS\\)`));
      assert.match(refused.stderr, /if the server requires client certificates: client_cert_path and client_key_path/);
      const plain = await hitl(['pending'], { ...cleanEnv(), TEMPORAL_ADDRESS: address });
      assert.equal(plain.code, 3, plain.stderr);
      assert.match(plain.stderr, new RegExp(`cannot reach Temporal at ${address} \\(namespace default\\)`));
      assert.match(plain.stderr, /if the server uses TLS: TEMPORAL_TLS=true/);
    } finally {
      worker.kill('SIGTERM');
      await workerExited;
      billing.db.close();
      await server.stop();
    }
  });
});
