// Node-only: reads and writes key files. Workflows never see a payload key.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../shared/errors';
import { formatZodError } from '../../shared/zod-format';

/** Environment variable naming the payload key file. Without it, payloads stay plain. */
export const PAYLOAD_KEYS_ENV = 'HITL_PAYLOAD_KEYS';

/** Bytes of an AES-256 key. */
export const PAYLOAD_KEY_BYTES = 32;

/** Largest key file read (bytes): a key file holds a few dozen keys at most. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

const KeyId = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'a key id is 1 to 64 letters, digits, dots, dashes or underscores');

const KeyFileSchema = z
  .strictObject({
    current: KeyId,
    keys: z.record(KeyId, z.string().trim().min(1)),
  })
  .superRefine((file, ctx) => {
    if (file.keys[file.current] === undefined) {
      ctx.addIssue({ code: 'custom', path: ['current'], message: `"${file.current}" is not one of the keys` });
    }
  });

/**
 * The keys payloads are encrypted with: new payloads use `current`; a payload names the key it was encrypted with,
 * and any listed key decrypts. Rotation adds a key and makes it current; an old key stays listed until no history
 * that needs it is left (the namespace's retention period).
 */
export interface PayloadKeys {
  /** Id of the key new payloads are encrypted with. */
  current: string;
  /** Key id → 32 key bytes. */
  keys: ReadonlyMap<string, Uint8Array>;
  /** Where the keys came from, for messages. */
  source: string;
}

/**
 * Parses a payload key file: `{ "current": "ID", "keys": { "ID": "<base64 of 32 bytes>", … } }`.
 * @param text - the file's text
 * @param source - the file name, for messages
 * @throws ConfigError naming the file and what is wrong (bad JSON, unknown keys, a key that is not 32 bytes)
 */
export function parsePayloadKeys(text: string, source: string): PayloadKeys {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`payload key file ${source} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = KeyFileSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(`payload key file ${source} is invalid: ${formatZodError(parsed.error)}`);
  const keys = new Map<string, Uint8Array>();
  for (const [id, encoded] of Object.entries(parsed.data.keys)) {
    const bytes = Buffer.from(encoded, 'base64');
    if (bytes.length !== PAYLOAD_KEY_BYTES || bytes.toString('base64') !== encoded.replace(/\s/g, '')) {
      throw new ConfigError(
        `payload key file ${source}: key "${id}" must be the base64 of ${PAYLOAD_KEY_BYTES} bytes, got ${bytes.length}`,
      );
    }
    keys.set(id, new Uint8Array(bytes));
  }
  return { current: parsed.data.current, keys, source };
}

/**
 * Loads the payload keys from `file`, else from the file named by `HITL_PAYLOAD_KEYS`.
 * @param file - explicit key file
 * @param env - the environment to read (default `process.env`)
 * @returns the keys, or `undefined` when no file is named (payloads stay plain)
 * @throws ConfigError when the named file cannot be read, is larger than 64 KiB or is invalid
 */
export function loadPayloadKeys(
  file?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): PayloadKeys | undefined {
  const path = file ?? (env[PAYLOAD_KEYS_ENV]?.trim() || undefined);
  if (path === undefined) return undefined;
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_KEY_FILE_BYTES) {
      throw new ConfigError(`payload key file ${path} has ${size} bytes; the limit is ${MAX_KEY_FILE_BYTES}`);
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read the payload key file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parsePayloadKeys(text, path);
}

/**
 * Creates a key file with one new random key, or adds a new key to an existing file and makes it current (rotation).
 * Written with mode 0600.
 * @param file - the key file
 * @param id - the new key's id (default `key-` and today's date and a random suffix)
 * @returns the new key's id and how many keys the file now lists
 * @throws ConfigError when the existing file is invalid or already has a key with that id
 */
export function addPayloadKey(file: string, id?: string): { id: string; count: number } {
  const existing = existsSync(file) ? loadPayloadKeys(file) : undefined;
  const newId = id ?? `key-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
  const checked = KeyId.safeParse(newId);
  if (!checked.success) throw new ConfigError(`bad key id "${newId}": ${formatZodError(checked.error)}`);
  if (existing?.keys.has(newId) === true)
    throw new ConfigError(`payload key file ${file} already has a key "${newId}"`);
  const keys: Record<string, string> = {};
  for (const [k, v] of existing?.keys ?? []) keys[k] = Buffer.from(v).toString('base64');
  keys[newId] = randomBytes(PAYLOAD_KEY_BYTES).toString('base64');
  mkdirSync(dirname(resolve(file)), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ current: newId, keys }, null, 2)}\n`, { mode: 0o600 });
  return { id: newId, count: Object.keys(keys).length };
}
