import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../shared/errors';

/** Environment variable holding the workers' state key (base64, at least 32 bytes). */
export const STATE_KEY_ENV = 'HITL_STATE_KEY';

/** Environment variable naming the file of the state key, when `HITL_STATE_KEY` is not set. */
export const STATE_KEY_FILE_ENV = 'HITL_STATE_KEY_FILE';

/** The key file used when neither variable is set: created on first use, mode 0600. */
export const DEFAULT_STATE_KEY_FILE = fileURLToPath(new URL('../../../.data/state.key', import.meta.url));

/**
 * The key the workers seal the state a run carries across continue-as-new with (HMAC-SHA256). Every worker of a task
 * queue needs the same key; clients never have it. From `HITL_STATE_KEY` (base64), else the file named by
 * `HITL_STATE_KEY_FILE`, else `.data/state.key`, created with 32 random bytes on first use.
 * @param options - `key`: explicit key bytes; `env`: the environment to read
 * @throws ConfigError when the key is shorter than 32 bytes or its file cannot be read or created
 */
export function loadStateKey(
  options: { key?: Uint8Array; env?: Readonly<Record<string, string | undefined>> } = {},
): Uint8Array {
  const env = options.env ?? process.env;
  const inline = env[STATE_KEY_ENV]?.trim();
  const key =
    options.key ??
    (inline !== undefined && inline !== ''
      ? Buffer.from(inline, 'base64')
      : readOrCreate(env[STATE_KEY_FILE_ENV]?.trim() || DEFAULT_STATE_KEY_FILE));
  if (key.length < 32) throw new ConfigError(`the state key must be at least 32 bytes, got ${key.length}`);
  return key;
}

function readOrCreate(file: string): Uint8Array {
  try {
    mkdirSync(dirname(resolve(file)), { recursive: true });
    // `wx`: of two workers starting at once, one creates the key and both read the same one.
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new ConfigError(`cannot create the state key ${file}: ${(err as Error).message}`, { cause: err });
    }
  }
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  } catch (err) {
    throw new ConfigError(`cannot read the state key ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The seal of a run's carried state: HMAC-SHA256 over the workflow id and the SHA-256 of the state's canonical JSON.
 * @returns base64
 */
export function sealDigest(key: Uint8Array, workflowId: string, digest: string): string {
  return createHmac('sha256', key).update(`hitl-carried-state/1\n${workflowId}\n${digest}`).digest('base64');
}

/** Whether a seal is the one {@link sealDigest} makes for this workflow and digest (compared in constant time). */
export function sealMatches(key: Uint8Array, workflowId: string, digest: string, seal: string): boolean {
  const expected = Buffer.from(sealDigest(key, workflowId, digest), 'base64');
  const given = Buffer.from(seal, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
