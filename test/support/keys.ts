import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { base64 } from '@scure/base';
import type { SigningKey } from '../../src/node/identity/keys';
import { parseApproverRegistry } from '../../src/node/identity/registry-file';
import { normalizeName } from '../../src/shared/identity/names';
import type { ApproverRegistry } from '../../src/shared/identity/signatures';

/**
 * The people of the tests' policies who hold registered keys. Mallory has one too but is in no group: a colleague
 * who may not decide. An attacker's key (see {@link strangerKey}) and the worker never are in the registry.
 */
export const TEST_PEOPLE = [
  'sam',
  'sue',
  'fiona',
  'frank',
  'felix',
  'ada',
  'alan',
  'alice',
  'bob',
  'tester',
  'recorder',
  'demo',
  'mallory',
] as const;

/** A key that no registry lists: what an attacker, or a worker, could sign with. */
export function strangerKey(name: string): SigningKey {
  const secretKey = sha256(utf8ToBytes(`not registered\n${name}`));
  return { name: normalizeName(name), secretKey, publicKey: base64.encode(ed25519.getPublicKey(secretKey)) };
}

/**
 * A test person's signing key, derived from their name (so every test process has the same keys without files).
 * Never use such keys outside tests: anyone who reads this file can make them.
 */
export function testKey(name: string): SigningKey {
  const person = normalizeName(name);
  const secretKey = sha256(utf8ToBytes(`hitl test key\n${person}`));
  return { name: person, secretKey, publicKey: base64.encode(ed25519.getPublicKey(secretKey)) };
}

/** Whether a name has a test key in {@link TEST_REGISTRY}. */
export function hasTestKey(name: string): boolean {
  return (TEST_PEOPLE as readonly string[]).includes(normalizeName(name));
}

/** The registry line of a key, with delegation when given. */
export function testRegistryLine(key: SigningKey, signsFor: readonly string[] = []): string {
  return `${key.name} ed25519 ${key.publicKey}${signsFor.length > 0 ? ` signs-for=${signsFor.join(',')}` : ''}`;
}

/**
 * A registry of the test people's keys, plus extra lines (a delegated bridge, a second key for rotation).
 * @param extra - more registry lines
 * @param without - people to leave out (a revoked key)
 */
export function testRegistry(extra: readonly string[] = [], without: readonly string[] = []): ApproverRegistry {
  const lines = TEST_PEOPLE.filter((p) => !without.includes(p)).map((p) => testRegistryLine(testKey(p)));
  return parseApproverRegistry([...lines, ...extra].join('\n'), 'test registry');
}

/** The registry every test worker uses unless a test gives its own. */
export const TEST_REGISTRY: ApproverRegistry = testRegistry();

/** A fixed state key for test workers (32 bytes). */
export const TEST_STATE_KEY: Uint8Array = sha256(utf8ToBytes('hitl test state key'));
