import type { Decision, ResumeRequest, StopRequest } from '../decision';
import { textHash, valueHash, type StatementContent } from './signatures';

// What each kind of signed message states. The client signs it and the workflow checks it, both from these builders;
// the workflow fills in the request's own argument and effect hashes, so a signature binds what the run will do.

/**
 * The statement of a decision on a request.
 * @param d - the decision (parsed)
 * @param request - the request's argument hash and, where it has one, its effect hash
 */
export function decisionStatement(
  d: Pick<Decision, 'requestId' | 'decision' | 'reason' | 'message' | 'args'>,
  request: { argsHash: string; effectHash?: string | undefined },
): StatementContent {
  return {
    kind: 'decision',
    requestId: d.requestId,
    decision: d.decision,
    argsHash: request.argsHash,
    ...(request.effectHash !== undefined ? { effectHash: request.effectHash } : {}),
    ...(d.args !== undefined ? { editedArgsHash: valueHash(d.args) } : {}),
    ...(d.reason !== undefined ? { reasonHash: textHash(d.reason) } : {}),
    ...(d.message !== undefined ? { messageHash: textHash(d.message) } : {}),
  };
}

/** The statement of an answer to a pause. */
export function resumeStatement(r: Pick<ResumeRequest, 'pauseId' | 'action' | 'reason' | 'steps'>): StatementContent {
  return {
    kind: 'resume',
    pauseId: r.pauseId,
    action: r.action,
    ...(r.reason !== undefined ? { reasonHash: textHash(r.reason) } : {}),
    ...(r.steps !== undefined ? { stepsHash: valueHash(r.steps) } : {}),
  };
}

/** The statement of a stop. */
export function stopStatement(s: Pick<StopRequest, 'reason'>): StatementContent {
  return { kind: 'stop', reasonHash: textHash(s.reason) ?? '' };
}

/**
 * The statement of a run's start: the hash of its whole input (defaults filled in), without the signature.
 * @param input - the parsed run input
 */
export function startStatement(input: object): StatementContent {
  const unsigned = Object.fromEntries(Object.entries(input).filter(([key]) => key !== 'signature'));
  return { kind: 'start', inputHash: valueHash(unsigned) };
}
