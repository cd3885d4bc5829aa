import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * Canonical JSON: object keys sorted at every depth, no whitespace, `undefined` members dropped.
 * Two argument objects that differ only in key order produce the same string. Deterministic, so it is safe in
 * workflow code.
 *
 * @param value - any JSON-compatible value
 * @returns the canonical JSON text
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) out[key] = sortKeys(member);
    }
    return out;
  }
  return value;
}

/**
 * SHA-256 of the canonical JSON of a tool call's arguments, as 64 lowercase hex characters. Binds an approval to the
 * exact arguments the reviewer saw. Uses `@noble/hashes`, which needs no Node built-ins, so workflows can call it.
 *
 * @param args - the tool arguments
 * @returns hex digest
 * @example argsHash({ invoiceId: 1, amountCents: 500, reason: 'dup' })
 */
export function argsHash(args: unknown): string {
  return sha256Hex(canonicalJson(args));
}

/**
 * SHA-256 of text (UTF-8), as 64 lowercase hex characters. Deterministic, no Node built-ins: safe in workflow code.
 * @param text - any text
 */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}

/**
 * Bytes of text in UTF-8.
 * @param text - any text
 */
export function utf8Length(text: string): number {
  return utf8ToBytes(text).length;
}
