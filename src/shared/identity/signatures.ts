import { verifyEd25519 } from './ed25519';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { base64 } from '@scure/base';
import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../hash';
import { normalizeName } from './names';

// Evaluated inside workflow code: pure functions, no Node built-ins. Ed25519 is @noble/curves' pure-JS implementation.

/** How far in the future a signature's issue time may be (clocks differ), in ms. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * The signature on a signed message: `{ at, value, workflowId, by? }`.
 * - `at`: when it was signed (ISO-8601); the run refuses signatures older than its policy's `signatureMaxAge`.
 * - `value`: the Ed25519 signature (base64, 64 bytes) over the statement the message stands for.
 * - `workflowId`: the run it was signed for (also inside the statement); a signature sent to another run is refused.
 * - `by`: the registry name of the key that signed when it signs for someone else (a delegated signer such as a chat
 *   bridge); absent when the person signs for themselves.
 */
export const SignatureSchema = z.strictObject({
  at: z.iso.datetime({ offset: true }),
  value: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'value must be a base64 Ed25519 signature (64 bytes)'),
  workflowId: z.string().min(1).max(400),
  by: z.string().trim().min(1).max(100).optional(),
});

/** A parsed signature. */
export type Signature = z.infer<typeof SignatureSchema>;

/** One key in the approver registry: whose it is, and for whom else it may sign. */
export interface SignerKey {
  /** The key's owner, normalised. */
  name: string;
  /** Ed25519 public key, base64 (32 bytes). */
  publicKey: string;
  /** People (normalised) this key may sign for besides its owner: a delegated signer such as a chat bridge. */
  signsFor: string[];
}

/** The approver registry as a run holds it: every registered key, and the SHA-256 of the whole (for the audit trail). */
export interface ApproverRegistry {
  keys: SignerKey[];
  /** SHA-256 (hex) of the canonical JSON of `keys`. */
  sha256: string;
  /** Where it came from (a file path, or `none`). */
  source: string;
}

/** The registry of a worker that has none: nobody can sign. */
export const EMPTY_REGISTRY: ApproverRegistry = { keys: [], sha256: sha256Hex(canonicalJson([])), source: 'none' };

/** What a signed message states, besides who and when: its kind and the fields it binds. */
export type StatementContent =
  | {
      kind: 'decision';
      requestId: string;
      decision: string;
      argsHash: string;
      effectHash?: string;
      editedArgsHash?: string;
      reasonHash?: string;
      messageHash?: string;
    }
  | { kind: 'resume'; pauseId: string; action: string; reasonHash?: string; stepsHash?: string }
  | { kind: 'stop'; reasonHash: string }
  | { kind: 'start'; inputHash: string };

/** Where a statement applies and who makes it. */
export interface StatementContext {
  namespace: string;
  workflowId: string;
  /** The person the message speaks for (the approver, the requester, who stops or answers), normalised. */
  subject: string;
  /** The registry name of the key that signs (the subject, or a delegate), normalised. */
  signer: string;
  /** Issue time, ISO-8601. */
  at: string;
}

/**
 * The exact bytes a signature covers: a versioned header line, then the canonical JSON of the context and the content.
 * The client and the workflow build it alike from the same fields.
 */
export function statementBytes(context: StatementContext, content: StatementContent): Uint8Array {
  return utf8ToBytes(`hitl-statement/1\n${canonicalJson({ ...context, ...content })}`);
}

/** SHA-256 of a text field a statement binds (a reason, a message), or undefined when it is absent. */
export function textHash(text: string | undefined): string | undefined {
  return text === undefined ? undefined : sha256Hex(text);
}

/** SHA-256 of any JSON value a statement binds (edited arguments, plan steps, a run's input). */
export function valueHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/** The registry's hash over its keys. */
export function registryHash(keys: readonly SignerKey[]): string {
  return sha256Hex(canonicalJson(keys));
}

/** A signature the run accepted: who it speaks for, and which key signed. */
export interface VerifiedSignature {
  /** The person, normalised. */
  subject: string;
  /** The key's owner when another key signed for the subject (e.g. `slack-bridge`). */
  via?: string;
  /** `fiona`, or `fiona, via slack-bridge`. */
  label: string;
}

/** What verification checks against. */
export interface VerifyContext {
  registry: ApproverRegistry;
  namespace: string;
  workflowId: string;
  /** Workflow time, ms since the epoch. */
  nowMs: number;
  /** The policy's `signatureMaxAge`, ms. */
  maxAgeMs: number;
}

/**
 * Verifies a signed message: the signature must be for this run, recent (not older than the policy's window, not
 * more than five minutes in the future), and verify under one of the registered keys of its signer, who must be the
 * subject or a registered delegate of the subject. Several keys per person are tried in turn (rotation).
 * @param subject - whom the message speaks for, as it names them (normalised here)
 * @param signature - the message's signature
 * @param content - what the message states (built from the run's own state, not taken from the message)
 * @param ctx - registry, run and time
 * @returns the verified identity, or the reason in a sentence that says which check failed
 */
export function verifySignature(
  subject: string,
  signature: Signature,
  content: StatementContent,
  ctx: VerifyContext,
): { ok: true; verified: VerifiedSignature } | { ok: false; reason: string } {
  const person = normalizeName(subject);
  const signer = normalizeName(signature.by ?? subject);
  if (signature.workflowId !== ctx.workflowId) {
    return { ok: false, reason: `the signature was made for run ${signature.workflowId}, not this run` };
  }
  const at = Date.parse(signature.at);
  if (at > ctx.nowMs + CLOCK_SKEW_MS) {
    return { ok: false, reason: `the signature is dated ${signature.at}, in the future` };
  }
  if (ctx.nowMs - at > ctx.maxAgeMs) {
    const minutes = Math.round(ctx.maxAgeMs / 60_000);
    return {
      ok: false,
      reason: `the signature of ${signature.at} is older than the policy's ${minutes}-minute window`,
    };
  }
  const keys = ctx.registry.keys.filter((k) => k.name === signer);
  if (keys.length === 0) return { ok: false, reason: `no key is registered for "${signer}"` };
  if (signer !== person && !keys.some((k) => k.signsFor.includes(person))) {
    return { ok: false, reason: `"${signer}" is not registered to sign for "${person}"` };
  }
  const bytes = statementBytes(
    { namespace: ctx.namespace, workflowId: ctx.workflowId, subject: person, signer, at: signature.at },
    content,
  );
  const sig = base64.decode(signature.value);
  const valid = keys.some((k) => {
    try {
      return (
        (signer === person || k.signsFor.includes(person)) && verifyEd25519(sig, bytes, base64.decode(k.publicKey))
      );
    } catch {
      return false;
    }
  });
  if (!valid) {
    return {
      ok: false,
      reason:
        `the signature does not verify under the ${keys.length === 1 ? 'key' : `${keys.length} keys`} of ` +
        `"${signer}": it was made by another key, or for another request, decision, argument set or reason`,
    };
  }
  const label = signer === person ? person : `${person}, via ${signer}`;
  return { ok: true, verified: { subject: person, ...(signer !== person ? { via: signer } : {}), label } };
}
