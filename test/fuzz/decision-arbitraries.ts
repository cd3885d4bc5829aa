import type { ApprovalRequest } from '../../src/shared/run-state';
import fc from 'fast-check';
import { parseDecisionMessage } from '../../src/shared/decision';
import { issueRefund } from '../../src/shared/tools/billing';

// Generators of decision payloads that must all be refused, for a run whose one pending request is an issue_refund
// under the example policy (support decides; the run's requester is `sam`, so `sue` is the one person who may
// decide). Each payload starts from a decision that would be taken and breaks it in one to three ways, or is garbage
// of another shape, or is a batch mixing both. A last filter drops anything that might still be valid, so a payload
// the workflow takes is a bug, not a generator accident.

/** The run's state the generators aim at. */
export interface FuzzTarget {
  /** The pending request. */
  pending: {
    requestId: string;
    argsHash: string;
    args: Record<string, unknown>;
    /** What the call will touch, as the request shows it (valid decisions carry its hash). */
    effect?: ApprovalRequest['effect'];
  };
  /** A request of the same run that is already closed (rejected). */
  closed: { requestId: string; argsHash: string };
  /** The only person who may decide now. */
  approver: string;
  /** People who may not: the requester, other groups, strangers. */
  forgedApprovers: readonly string[];
}

type Payload = Record<string, unknown>;

/** A string of `length` copies of one character, cheap to make at any size. */
const repeated = (min: number, max: number) =>
  fc
    .tuple(fc.constantFrom('x', 'é', '\u{1F600}', '\u0000', '\u202E', ' x'), fc.integer({ min, max }))
    .map(([c, n]) => c.repeat(Math.ceil(n / c.length)));

/** Refund arguments the tool's schema refuses, or that an approver from support may not edit into (finance's). */
const badEditArgs = (pending: FuzzTarget['pending']) =>
  fc.oneof(
    fc.record({
      invoiceId: fc.oneof(fc.constant(0), fc.constant(-1), fc.constant(1.5), fc.constant('1'), fc.constant(null)),
      amountCents: fc.constant(pending.args['amountCents']),
      reason: fc.constant('edited'),
    }),
    fc.record({
      invoiceId: fc.constant(pending.args['invoiceId']),
      amountCents: fc.oneof(
        fc.integer({ min: -1_000, max: 0 }),
        fc.double({ min: 0.01, max: 4_999.99, noNaN: true }).filter((n) => !Number.isInteger(n)),
        fc.constantFrom('150', null, true, [150], { cents: 150 }),
        fc.integer({ min: 100_000_001, max: Number.MAX_SAFE_INTEGER }),
        // Valid for the schema but $50 or more: finance's gate, which sue may not approve.
        fc.integer({ min: 5_000, max: 100_000_000 }),
      ),
      reason: fc.constant('edited'),
    }),
    fc.record({
      invoiceId: fc.constant(pending.args['invoiceId']),
      amountCents: fc.constant(150),
      reason: fc.oneof(fc.constant(''), fc.constant('   '), repeated(501, 5_000), fc.constant(42)),
    }),
    fc.record(
      { invoiceId: fc.constant(pending.args['invoiceId']), amountCents: fc.constant(150) },
      { requiredKeys: ['invoiceId'] },
    ),
    fc
      .dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue({ maxDepth: 1 }), { minKeys: 1, maxKeys: 3 })
      .map((extra) => ({ ...pending.args, ...extra, approved: true })),
  );

/** A decision the workflow would take from `target.approver`, of any kind. */
const validDecision = (t: FuzzTarget): fc.Arbitrary<Payload> => {
  const base = { requestId: t.pending.requestId, argsHash: t.pending.argsHash, approver: t.approver };
  return fc.constantFrom<Payload>(
    { ...base, decision: 'approve' },
    { ...base, decision: 'reject', reason: 'not needed' },
    { ...base, decision: 'respond', message: 'refund a smaller amount' },
    { ...base, decision: 'edit', args: { ...t.pending.args, amountCents: 150 } },
  );
};

/** One way of breaking a decision; each alone makes it invalid. */
const breakage = (t: FuzzTarget): fc.Arbitrary<(d: Payload) => Payload> => {
  const wrongTypes = fc.oneof(
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string(), { maxLength: 2 }),
    fc.object({ maxDepth: 1 }),
  );
  const field = fc.constantFrom('requestId', 'decision', 'approver', 'argsHash');
  return fc.oneof(
    // Unknown request ids, including ones that only look like the real one.
    fc
      .oneof(
        fc.uuid(),
        fc.string({ maxLength: 40 }),
        fc.constant(t.pending.requestId.toUpperCase()),
        fc.constant(`${t.pending.requestId}x`),
        fc.constant(t.pending.requestId.slice(0, -1)),
        fc.constant(`${t.pending.requestId}\u200b`),
      )
      .map((requestId) => (d: Payload) => ({ ...d, requestId })),
    // A stale request id: the run's closed request, with its own hash or the pending one's.
    fc
      .constantFrom(t.closed.argsHash, t.pending.argsHash)
      .map((argsHash) => (d: Payload) => ({ ...d, requestId: t.closed.requestId, argsHash })),
    // Forged approvers: the requester, other groups, strangers, look-alikes.
    fc
      .oneof(
        fc.constantFrom(...t.forgedApprovers),
        fc.string({ minLength: 1, maxLength: 30 }),
        fc.mixedCase(fc.constant(t.approver)).filter((s) => s !== t.approver),
        fc.constantFrom(`${t.approver}\u200b`, `${t.approver}.`, `${t.approver}\u0000`, `'${t.approver}'`),
      )
      .map((approver) => (d: Payload) => ({ ...d, approver })),
    // Wrong hashes: another request's, random hex, the right one in capitals, cut short, padded.
    fc
      .oneof(
        fc.constant(t.closed.argsHash),
        fc.stringMatching(/^[0-9a-f]{64}$/),
        fc.constant(t.pending.argsHash.toUpperCase()),
        fc.constant(t.pending.argsHash.slice(0, 63)),
        fc.constant(`${t.pending.argsHash}0`),
        fc.constant(` ${t.pending.argsHash}`),
        fc.constant(''),
      )
      .map((argsHash) => (d: Payload) => ({ ...d, argsHash })),
    fc
      .oneof(
        fc.constantFrom('APPROVE', 'approved', 'yes', 'ok', 'accept', '', 'approve '),
        fc.string({ maxLength: 10 }),
      )
      .map((decision) => (d: Payload) => ({ ...d, decision })),
    fc.tuple(field, wrongTypes).map(([key, value]) => (d: Payload) => ({ ...d, [key]: value })),
    field.map((key) => (d: Payload) => Object.fromEntries(Object.entries(d).filter(([k]) => k !== key))),
    fc
      .tuple(fc.constantFrom('approved', 'admin', 'force', 'quorum', 'constructor', 'requestedBy'), fc.jsonValue())
      .map(([key, value]) => (d: Payload) => ({ ...d, [key]: value })),
    // Huge strings, beyond each field's bound.
    fc
      .oneof(
        repeated(201, 20_000).map((requestId) => ({ requestId })),
        repeated(101, 20_000).map((approver) => ({ approver })),
        repeated(4_001, 20_000).map((reason) => ({ decision: 'reject', reason })),
        repeated(8_001, 20_000).map((message) => ({ decision: 'respond', message })),
      )
      .map((patch) => (d: Payload) => ({ ...d, ...patch })),
    // What a decision kind needs, missing or misplaced.
    fc
      .constantFrom<Payload>(
        { decision: 'reject', reason: undefined },
        { decision: 'reject', reason: '   ' },
        { decision: 'respond', message: undefined },
        { decision: 'respond', message: '\n\t' },
        { decision: 'edit', args: undefined },
        { decision: 'approve', args: t.pending.args },
        { decision: 'reject', reason: 'no', args: t.pending.args },
      )
      .map((patch) => (d: Payload) => stripUndefined({ ...d, ...patch })),
    badEditArgs(t.pending).map((args) => (d: Payload) => ({ ...d, decision: 'edit', args })),
  );
};

function stripUndefined(d: Payload): Payload {
  return Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined));
}

/** A taken decision broken in one to three ways. */
const brokenDecision = (t: FuzzTarget) =>
  fc
    .tuple(validDecision(t), fc.array(breakage(t), { minLength: 1, maxLength: 3 }))
    .map(([d, breaks]) => breaks.reduce((acc, b) => b(acc), d));

/** Payloads of the wrong shape altogether. */
const garbage = fc.oneof(
  fc.constantFrom<unknown>(
    undefined,
    null,
    0,
    -1,
    true,
    '',
    'approve',
    [],
    {},
    { decisions: [] },
    { decisions: 'all' },
  ),
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ maxLength: 200 }),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 5 }),
);

/** Batches: valid decisions mixed with broken ones, duplicates of one request, too many decisions. */
const batch = (t: FuzzTarget) =>
  fc.oneof(
    fc
      .tuple(fc.array(validDecision(t), { maxLength: 2 }), fc.array(brokenDecision(t), { minLength: 1, maxLength: 3 }))
      .chain(([valid, broken]) =>
        fc.shuffledSubarray([...valid, ...broken], { minLength: valid.length + broken.length }),
      )
      .map((decisions) => ({ decisions })),
    fc.array(validDecision(t), { minLength: 2, maxLength: 4 }).map((decisions) => ({ decisions })),
    fc.integer({ min: 101, max: 130 }).map((n) => ({ decisions: Array.from({ length: n }, () => ({})) })),
    brokenDecision(t).map((d) => ({ decisions: [d], extra: true })),
  );

/**
 * Whether the workflow might take `payload`: it parses, names each request once, and each decision is the pending
 * request's, with its hash, by the one eligible person, and (for an edit) with arguments that pass the schema under
 * $50. Conservative: anything it cannot rule out counts as possibly valid.
 * @param payload - a generated payload
 * @param t - the run's state
 */
function mightBeValid(payload: unknown, t: FuzzTarget): boolean {
  const parsed = parseDecisionMessage(payload);
  if (!parsed.ok) return false;
  const ids = parsed.decisions.map((d) => d.requestId);
  if (new Set(ids).size !== ids.length) return false;
  return parsed.decisions.every((d) => {
    if (d.requestId !== t.pending.requestId || d.argsHash !== t.pending.argsHash || d.approver !== t.approver) {
      return false;
    }
    if (d.decision !== 'edit') return true;
    const args = issueRefund.parameters.safeParse(d.args);
    return args.success && args.data.amountCents < 5_000;
  });
}

/** Generated payloads to send together; prints compactly in fast-check's reports (huge strings shortened). */
export class PayloadBatch {
  constructor(readonly payloads: readonly unknown[]) {}

  [fc.toStringMethod](): string {
    return compact(this.payloads);
  }
}

/**
 * JSON of a payload with long strings and arrays shortened, for failure messages.
 * @param value - any payload
 */
export function compact(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'string' && v.length > 80) return `${v.slice(0, 24)}…(${v.length} chars)`;
    if (Array.isArray(v) && v.length > 12) return [...(v as unknown[]).slice(0, 3), `…(${v.length} items)`];
    return v;
  }) as string | undefined;
  return text ?? 'undefined';
}

/**
 * Decision payloads that must be refused, in batches of 1 to `maxBatch` to send against the same pending request.
 * @param t - the run's state
 * @param maxBatch - most payloads per generated batch
 */
export function refusedPayloads(t: FuzzTarget, maxBatch: number): fc.Arbitrary<PayloadBatch> {
  const one = fc
    .oneof(
      { weight: 6, arbitrary: brokenDecision(t) },
      { weight: 2, arbitrary: garbage },
      { weight: 2, arbitrary: batch(t) },
    )
    .filter((p) => !mightBeValid(p, t));
  return fc
    .array(one, { minLength: 1, maxLength: maxBatch, size: 'max' })
    .map((payloads) => new PayloadBatch(payloads));
}
