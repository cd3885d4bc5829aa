import type { Decision, ResumeRequest, StopRequest } from '../../shared/decision';
import { normalizeName } from '../../shared/identity/names';
import type { Signature, StatementContent } from '../../shared/identity/signatures';
import { decisionStatement, resumeStatement, startStatement, stopStatement } from '../../shared/identity/statements';
import { signStatement, type SigningKey } from '../identity/keys';

/** Where a signed message goes, and when it is signed. */
export interface SignContext {
  namespace: string;
  workflowId: string;
  /** Issue time (default: now). */
  at?: Date;
}

/**
 * Signs what a message states for `subject` with `key`: the key's owner signs for themselves, or, as a delegated
 * signer, for the subject (the signature then names it in `by`).
 * @returns the signature to put on the message
 */
export function signFor(subject: string, key: SigningKey, content: StatementContent, ctx: SignContext): Signature {
  const person = normalizeName(subject);
  const at = (ctx.at ?? new Date()).toISOString();
  const value = signStatement(
    key,
    { namespace: ctx.namespace, workflowId: ctx.workflowId, subject: person, signer: key.name, at },
    content,
  );
  return { at, value, workflowId: ctx.workflowId, ...(key.name !== person ? { by: key.name } : {}) };
}

/**
 * Signs a decision: binds the run, the request, the decision, the argument hash (and the effect hash, when the
 * request shows one), the edited arguments, the reason or message, the approver and the time.
 * @param decision - a parsed decision (`approver` normalised, texts trimmed), carrying the request's hashes
 * @param key - the approver's key, or a delegated signer's
 * @example const signed = signDecision(decisionOn(request, 'fiona'), loadKey('fiona')!, { namespace, workflowId });
 */
export function signDecision(decision: Decision, key: SigningKey, ctx: SignContext): Decision {
  const content = decisionStatement(decision, { argsHash: decision.argsHash, effectHash: decision.effectHash });
  return { ...decision, signature: signFor(decision.approver, key, content, ctx) };
}

/** Signs an answer to a pause (parsed: `by` normalised, texts trimmed). */
export function signResume(answer: ResumeRequest, key: SigningKey, ctx: SignContext): ResumeRequest {
  return { ...answer, signature: signFor(answer.by, key, resumeStatement(answer), ctx) };
}

/** Signs a stop (parsed: `by` normalised, the reason trimmed). */
export function signStop(stop: StopRequest, key: SigningKey, ctx: SignContext): StopRequest {
  return { ...stop, signature: signFor(stop.by, key, stopStatement(stop), ctx) };
}

/**
 * Signs a run's start: binds its whole input (defaults filled in), the workflow id and the requester.
 * @param input - the parsed input, without a signature
 */
export function signStart<T extends { requestedBy: string }>(input: T, key: SigningKey, ctx: SignContext): T {
  return { ...input, signature: signFor(input.requestedBy, key, startStatement(input), ctx) };
}
