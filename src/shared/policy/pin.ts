import { canonicalJson, sha256Hex } from '../hash';
import type { Policy } from './schema';

/**
 * One of the worker's policies, as a run pins it: its name, the parsed policy, where it came from and the SHA-256 of
 * its canonical form (canonical JSON of the parsed policy: durations in ms, defaults filled in), which the audit
 * trail, `hitl show` and the Web UI give beside its version.
 */
export interface PolicyPin {
  /** The name runs select it by (its file's name without the extension, or `built-in-default`). */
  name: string;
  policy: Policy;
  /** A file path, or `built-in default`. */
  source: string;
  /** SHA-256 (hex) of the canonical JSON of `policy`. */
  sha256: string;
}

/**
 * The SHA-256 of a policy's canonical form. Deterministic: the workflow checks a pin against it.
 * @param policy - a parsed policy
 * @returns 64 hex characters
 */
export function policyHash(policy: Policy): string {
  return sha256Hex(canonicalJson(policy));
}
