import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connectionConfig, connectOptions } from '../src/node/config';
import { ConfigError } from '../src/shared/errors';
import { tempDir } from './support/env';

/** A temporal.toml with two profiles, and the PEM files one of them names. */
function profileFile(): { dir: string; file: string } {
  const dir = tempDir('hitl-envconfig-');
  writeFileSync(join(dir, 'ca.pem'), 'CA PEM\n');
  writeFileSync(join(dir, 'client.pem'), 'CLIENT CERT PEM\n');
  writeFileSync(join(dir, 'client.key'), 'CLIENT KEY PEM\n');
  const file = join(dir, 'temporal.toml');
  writeFileSync(
    file,
    [
      '[profile.default]',
      'address = "default.example:7233"',
      '',
      '[profile.prod]',
      'address = "prod.example:7233"',
      'namespace = "billing"',
      '[profile.prod.tls]',
      `client_cert_path = "${join(dir, 'client.pem')}"`,
      `client_key_path = "${join(dir, 'client.key')}"`,
      `server_ca_cert_path = "${join(dir, 'ca.pem')}"`,
      'server_name = "temporal.internal"',
      '[profile.prod.grpc_meta]',
      'x-team = "billing"',
      '',
      '[profile.cloud]',
      'address = "billing.a1b2c.tmprl.cloud:7233"',
      'namespace = "billing.a1b2c"',
      'api_key = "secret-key"',
      '',
    ].join('\n'),
  );
  return { dir, file };
}

const asText = (data: unknown): string => Buffer.from(data as Uint8Array).toString('utf8');

describe('connection settings from Temporal environment configuration', () => {
  it('reads the profile TEMPORAL_PROFILE names from TEMPORAL_CONFIG_FILE: address, namespace, mTLS files, headers', () => {
    const { file } = profileFile();
    const cfg = connectionConfig({}, { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' });
    assert.equal(cfg.address, 'prod.example:7233');
    assert.equal(cfg.namespace, 'billing');
    assert.equal(cfg.taskQueue, 'hitl-agent');
    assert.ok(typeof cfg.tls === 'object');
    assert.equal(cfg.tls.serverNameOverride, 'temporal.internal');
    assert.equal(asText(cfg.tls.serverRootCACertificate), 'CA PEM\n');
    assert.equal(asText(cfg.tls.clientCertPair?.crt), 'CLIENT CERT PEM\n');
    assert.equal(asText(cfg.tls.clientCertPair?.key), 'CLIENT KEY PEM\n');
    assert.deepEqual(cfg.metadata, { 'x-team': 'billing' });
    assert.equal(cfg.apiKey, undefined);
  });

  it('takes the default profile without TEMPORAL_PROFILE, and an API key turns TLS on (Temporal Cloud)', () => {
    const { file } = profileFile();
    assert.deepEqual(connectionConfig({}, { TEMPORAL_CONFIG_FILE: file }), {
      address: 'default.example:7233',
      namespace: 'default',
      taskQueue: 'hitl-agent',
    });
    const cloud = connectionConfig({ profile: 'cloud' }, { TEMPORAL_CONFIG_FILE: file });
    assert.deepEqual(connectOptions(cloud), {
      address: 'billing.a1b2c.tmprl.cloud:7233',
      tls: true,
      apiKey: 'secret-key',
    });
    assert.equal(cloud.namespace, 'billing.a1b2c');
  });

  it('lets the environment win over the profile, and explicit values (CLI flags) over both', () => {
    const { file } = profileFile();
    const env = {
      TEMPORAL_CONFIG_FILE: file,
      TEMPORAL_PROFILE: 'prod',
      TEMPORAL_ADDRESS: 'env.example:7233',
      TEMPORAL_NAMESPACE: 'from-env',
      TEMPORAL_API_KEY: 'env-key',
      TEMPORAL_TLS_SERVER_NAME: 'env.internal',
    };
    const fromEnv = connectionConfig({}, env);
    assert.equal(fromEnv.address, 'env.example:7233');
    assert.equal(fromEnv.namespace, 'from-env');
    assert.equal(fromEnv.apiKey, 'env-key');
    assert.ok(typeof fromEnv.tls === 'object');
    assert.equal(fromEnv.tls.serverNameOverride, 'env.internal');
    const explicit = connectionConfig({ address: 'flag.example:7233', namespace: 'from-flag', profile: 'cloud' }, env);
    assert.equal(explicit.address, 'flag.example:7233');
    assert.equal(explicit.namespace, 'from-flag');
    assert.equal(explicit.apiKey, 'env-key');
  });

  it('turns TLS on and off from TEMPORAL_TLS, as the temporal CLI does', () => {
    assert.equal(connectionConfig({}, { TEMPORAL_TLS: 'true' }).tls !== undefined, true);
    assert.equal(connectionConfig({}, { TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' }).tls, false);
    assert.equal(connectionConfig({}, {}).tls, undefined);
  });

  it('refuses a missing, malformed or unknown config file or profile, naming the file', () => {
    const { dir, file } = profileFile();
    const refuses = (fn: () => unknown, pattern: RegExp): void =>
      assert.throws(fn, (err: unknown) => err instanceof ConfigError && pattern.test(err.message));
    const missing = join(dir, 'nope.toml');
    refuses(() => connectionConfig({}, { TEMPORAL_CONFIG_FILE: missing }), new RegExp(`${missing} does not exist`));
    refuses(() => connectionConfig({ configFile: missing }, {}), /does not exist \(named by --config-file\)/);
    refuses(
      () => connectionConfig({}, { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' }),
      new RegExp(`profile staging of the Temporal config file ${file} is invalid: Profile 'staging' not found`),
    );
    const broken = join(dir, 'broken.toml');
    writeFileSync(broken, '[profile.default\naddress = 1\n');
    refuses(
      () => connectionConfig({}, { TEMPORAL_CONFIG_FILE: broken }),
      new RegExp(`the Temporal config file ${broken} is invalid`),
    );
    const unknownKey = join(dir, 'unknown.toml');
    writeFileSync(unknownKey, '[profile.default]\nadress = "typo:7233"\n');
    refuses(
      () => connectionConfig({}, { TEMPORAL_CONFIG_FILE: unknownKey }),
      /unrecognized in profile\.default: adress/,
    );
    const badCert = join(dir, 'bad-cert.toml');
    writeFileSync(badCert, `[profile.default.tls]\nclient_cert_path = "${join(dir, 'gone.pem')}"\n`);
    refuses(
      () => connectionConfig({}, { TEMPORAL_CONFIG_FILE: badCert }),
      new RegExp(`cannot read a TLS file named by the Temporal config file ${badCert}: .*gone\\.pem`),
    );
    refuses(() => connectionConfig({ profile: 'prod' }, { HOME: dir }), /profile prod asked for, but there is no/);
    // Set but empty is still refused, as before profiles existed.
    refuses(() => connectionConfig({}, { TEMPORAL_ADDRESS: ' ' }), /TEMPORAL_ADDRESS/);
  });

  it("reads the user's default temporal.toml under XDG_CONFIG_HOME when no file is named", () => {
    const { dir, file } = profileFile();
    const configHome = join(dir, 'xdg');
    mkdirSync(join(configHome, 'temporalio'), { recursive: true });
    copyFileSync(file, join(configHome, 'temporalio', 'temporal.toml'));
    assert.equal(connectionConfig({}, { XDG_CONFIG_HOME: configHome }).address, 'default.example:7233');
  });
});
