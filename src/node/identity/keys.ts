import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { base64 } from '@scure/base';
import { ConfigError } from '../../shared/errors';
import { normalizeName } from '../../shared/identity/names';
import { statementBytes, type StatementContent, type StatementContext } from '../../shared/identity/signatures';

/** Environment variable naming the folder that holds people's private keys. */
export const KEYS_DIR_ENV = 'HITL_KEYS_DIR';

/** A person's signing key, as loaded from their keys folder. */
export interface SigningKey {
  /** The owner, normalised. */
  name: string;
  /** The 32-byte Ed25519 secret key. */
  secretKey: Uint8Array;
  /** The public key, base64. */
  publicKey: string;
}

/** The keys folder: explicit, then `HITL_KEYS_DIR`, then `~/.config/hitl/keys`. */
export function keysDir(dir?: string): string {
  return dir ?? (process.env[KEYS_DIR_ENV]?.trim() || join(homedir(), '.config', 'hitl', 'keys'));
}

/** The file of NAME's private key in a keys folder. */
export function keyFile(dir: string, name: string): string {
  const normal = normalizeName(name);
  if (!/^[\p{L}\p{N}._-]+$/u.test(normal)) {
    throw new ConfigError(`"${name}" cannot name a key file: use letters, digits, dot, dash or underscore`);
  }
  return join(dir, `${normal}.key`);
}

/**
 * The line that registers a public key in the approver registry: `NAME ed25519 BASE64-PUBLIC-KEY`, in the
 * allowed-signers style of ssh and git.
 */
export function registryLine(key: Pick<SigningKey, 'name' | 'publicKey'>): string {
  return `${key.name} ed25519 ${key.publicKey}`;
}

/**
 * Creates NAME's Ed25519 key pair and writes the private key to the keys folder (mode 0600, the folder 0700).
 * @param name - the owner (normalised for the file name and the registry line)
 * @param options - `dir`: the keys folder (default {@link keysDir}); `force`: replace an existing key
 * @returns the key, its file and the registry line to give to whoever runs the workers
 * @throws ConfigError when a key exists already (without `force`) or the folder cannot be written
 */
export function createKey(
  name: string,
  options: { dir?: string; force?: boolean } = {},
): { key: SigningKey; file: string; line: string } {
  const dir = keysDir(options.dir);
  const file = keyFile(dir, name);
  if (existsSync(file) && options.force !== true) {
    throw new ConfigError(`${file} exists already: pass --force to replace it (the old key then stops working)`);
  }
  const secretKey = ed25519.utils.randomSecretKey();
  const key: SigningKey = {
    name: normalizeName(name),
    secretKey,
    publicKey: base64.encode(ed25519.getPublicKey(secretKey)),
  };
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${base64.encode(secretKey)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  } catch (err) {
    throw new ConfigError(`cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
  return { key, file, line: registryLine(key) };
}

/**
 * Loads NAME's private key from the keys folder. Like ssh, it refuses a key file that others can read.
 * @param name - the owner
 * @param dir - the keys folder (default {@link keysDir})
 * @returns the key, or undefined when NAME has none there
 * @throws ConfigError when the file is readable by others or is not a key
 */
export function loadKey(name: string, dir?: string): SigningKey | undefined {
  const file = keyFile(keysDir(dir), name);
  if (!existsSync(file)) return undefined;
  if ((statSync(file).mode & 0o077) !== 0) {
    throw new ConfigError(`${file} is readable by others: run chmod 600 ${file}`);
  }
  let secretKey: Uint8Array;
  try {
    secretKey = base64.decode(readFileSync(file, 'utf8').trim());
  } catch (err) {
    throw new ConfigError(`${file} is not a key file: ${(err as Error).message}`, { cause: err });
  }
  if (secretKey.length !== 32) throw new ConfigError(`${file} is not a key file: expected 32 bytes`);
  return { name: normalizeName(name), secretKey, publicKey: base64.encode(ed25519.getPublicKey(secretKey)) };
}

/**
 * Signs a statement.
 * @param key - the signer's key
 * @param context - run, subject, signer and issue time
 * @param content - what is stated
 * @returns the signature, base64 (64 bytes)
 */
export function signStatement(key: SigningKey, context: StatementContext, content: StatementContent): string {
  return base64.encode(ed25519.sign(statementBytes(context, content), key.secretKey));
}
