import { readFileSync } from 'node:fs';
import { base64 } from '@scure/base';
import { ConfigError } from '../../shared/errors';
import { normalizeName } from '../../shared/identity/names';
import { EMPTY_REGISTRY, registryHash, type ApproverRegistry, type SignerKey } from '../../shared/identity/signatures';

/** Environment variable naming the approver registry file. */
export const APPROVERS_ENV = 'HITL_APPROVERS';

/**
 * Parses an approver registry: one key per line, `NAME ed25519 BASE64-PUBLIC-KEY [signs-for=NAME,NAME…]`, the
 * allowed-signers style of ssh and git. `#` starts a comment; blank lines are skipped. A person may have several lines
 * (several keys, for rotation); removing a line revokes that key once the workers restart. `signs-for` makes the key
 * a delegated signer for those people (a chat or web bridge): the audit trail then says `fiona, via slack-bridge`.
 * Groups stay in the policy.
 * @param text - the file's content
 * @param file - the name to put in messages
 * @returns the registry (names normalised)
 * @throws ConfigError listing every bad line as `file:line: problem`
 */
export function parseApproverRegistry(text: string, file: string): ApproverRegistry {
  const keys: SignerKey[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const at = `${file}:${i + 1}`;
    const [name, type, publicKey, ...options] = line.split(/\s+/);
    if (name === undefined || type === undefined || publicKey === undefined) {
      problems.push(`${at}: expected "NAME ed25519 BASE64-PUBLIC-KEY", got "${line.slice(0, 80)}"`);
      return;
    }
    if (type !== 'ed25519') {
      problems.push(`${at}: key type "${type}" is not supported (only ed25519)`);
      return;
    }
    let bytes: Uint8Array | undefined;
    try {
      bytes = base64.decode(publicKey);
    } catch {
      bytes = undefined;
    }
    if (bytes?.length !== 32) {
      problems.push(`${at}: "${publicKey.slice(0, 60)}" is not a base64 Ed25519 public key (32 bytes)`);
      return;
    }
    const signsFor: string[] = [];
    for (const option of options) {
      const match = /^signs-for=(.+)$/.exec(option);
      if (match?.[1] === undefined) {
        problems.push(`${at}: unknown option "${option}" (the only option is signs-for=NAME,NAME…)`);
        return;
      }
      signsFor.push(
        ...match[1]
          .split(',')
          .map(normalizeName)
          .filter((n) => n !== ''),
      );
    }
    const owner = normalizeName(name);
    if (seen.has(`${owner} ${publicKey}`)) {
      problems.push(`${at}: the same key is registered twice for "${owner}"`);
      return;
    }
    seen.add(`${owner} ${publicKey}`);
    keys.push({ name: owner, publicKey, signsFor: [...new Set(signsFor)].sort() });
  });
  if (problems.length > 0) {
    throw new ConfigError(`invalid approver registry ${file} (${problems.length} problem(s)):\n${problems.join('\n')}`);
  }
  // Code-unit order, the same on every machine: the hash of the registry goes on the audit trail.
  const order = (k: SignerKey) => `${k.name}\u0000${k.publicKey}`;
  keys.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  return { keys, sha256: registryHash(keys), source: file };
}

/**
 * Reads the approver registry the worker uses: the explicit path, else `HITL_APPROVERS`, else none (nobody can sign,
 * so a policy that requires signatures lets nobody decide).
 * @param path - an explicit file
 * @throws ConfigError when the file cannot be read or has bad lines
 */
export function loadApproverRegistry(path?: string): ApproverRegistry {
  const file = path ?? (process.env[APPROVERS_ENV]?.trim() || undefined);
  if (file === undefined) return EMPTY_REGISTRY;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the approver registry ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseApproverRegistry(text, file);
}
