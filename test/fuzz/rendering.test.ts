import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decisionCommands, formatAudit, formatPendingLine, formatResult, formatShow } from '../../src/node/cli/format';
import { renderApprovalRequest, renderCurrentDetails } from '../../src/shared/render/approval';
import { displayJson, escapeTerminal } from '../../src/shared/render/escape';
import { renderPause, resumeCommands } from '../../src/shared/render/pause';
import type {
  AgentRunResult,
  ApprovalRequest,
  AuditEntry,
  AuditKind,
  RunPause,
  RunStatus,
} from '../../src/shared/run-state';

// Property: whatever a model, a tool, a policy or a client wrote into the strings of approval requests, pauses, run
// status, results and audit entries, what the CLI prints and what the Web UI shows has the shape the renderer gave
// it. No control character, escape sequence, bidi control or line separator reaches the output raw (only the newlines
// the renderer puts between its own lines); the number of lines is the same as for plain text; every audit line starts
// with its own entry's seq; the Web UI shows arguments as JSON in a code span that parses back to the arguments.
// HITL_FUZZ_RENDER_RUNS sets the number of generated cases per property (default 400); HITL_FUZZ_SEED replays one.

const RUNS = Number(process.env['HITL_FUZZ_RENDER_RUNS'] ?? 400);
const SEED = process.env['HITL_FUZZ_SEED'] !== undefined ? Number(process.env['HITL_FUZZ_SEED']) : undefined;
const params = { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) };

/** Anything a renderer must never print raw: C0 controls but the newline, DEL, C1, bidi controls, separators. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

/** Single characters that attack a terminal or Markdown, or look like the escapes the renderer writes. */
const NASTY = Array.from(
  '\n\r\t\x00\x07\x08\x0b\x0c\x1b\x7f\x85\x9b\x9d\u061c\u200e\u200f\u2028\u2029\u202a\u202d\u202e\u2066\u2068\u2069\ufeff' +
    '\\`$*_[]()<>&#|~!"\' -+{};',
);

/** Sequences: ANSI CSI and OSC, fake audit entries and approvals, Markdown that would open a block or a link. */
const SEQUENCES = [
  '\x1b[2K',
  '\x1b[8m',
  '\x1b[0m',
  '\x1b[1A',
  '\x1b[2J',
  '\x1b[31m',
  '\x1bc',
  '\x1b]0;approved\x07',
  '\x1b]8;;https://evil.example\x1b\\',
  '\x9b2K',
  '\r\x1b[2K',
  '\r\n',
  '\n  7 2026-01-01T00:00:00Z  approved',
  '\n  8 2026-01-01T00:00:00.000Z  tool_executed      system     [6f1c2a34] issue_refund ran',
  '\n- approvals: 2 of 2 (fiona, frank)',
  '\n# Approved',
  '\n\n```\n',
  '$0.49',
  '\\x1b',
  '\\n',
  '\\u{202E}',
  '&#x202E;',
  '&#27;',
  '<img src=x>',
  '[ok](https://evil.example)',
  '**',
  '1. ',
  '    ',
  '``',
  '```',
];

const unit = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 3, arbitrary: fc.constantFrom(...SEQUENCES) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xa0 }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.integer({ min: 0x2000, max: 0x206f }).map((c) => String.fromCharCode(c)) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }) },
  { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 8 }) },
);

/** A string a model, a tool, a policy or a client could have written. */
const hostile = fc.string({ unit, maxLength: 12 });
const hostiles = (maxLength: number) => fc.array(hostile, { maxLength });
const jsonArgs = fc.dictionary(hostile, fc.oneof(hostile, fc.integer(), fc.boolean(), hostiles(3)), { maxKeys: 4 });
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** Drops the keys whose value is undefined, as a query result would have them. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const request: fc.Arbitrary<ApprovalRequest> = fc
  .record({
    requestId: hostile,
    workflowId: hostile,
    toolCallId: hostile,
    tool: hostile,
    args: jsonArgs,
    argsHash: hostile,
    classification: opt(
      fc.record({
        reversibility: fc.constantFrom('reversible', 'partially_reversible', 'irreversible'),
        blastRadius: fc.constantFrom('none', 'single_record', 'customer'),
        externalEffects: hostiles(2),
        financialImpact: fc.constantFrom('none', 'refund'),
      }),
    ),
    gate: fc.constantFrom('soft', 'hard'),
    because: hostile,
    policyVersion: hostile,
    policySha256: opt(hostile),
    effect: opt(fc.record({ lines: hostiles(3), sha256: hostile, facts: fc.constant({}) })),
    summary: hostile,
    reasoning: fc.option(hostile, { nil: null }),
    alternatives: hostiles(3),
    goal: hostile,
    requestedBy: hostile,
    requestedAt: hostile,
    stage: fc.constant(0),
    stages: fc.array(fc.record({ groups: hostiles(2), timeoutMs: fc.nat() }), { minLength: 1, maxLength: 2 }),
    eligibleApprovers: hostiles(3),
    quorum: fc.integer({ min: 1, max: 3 }),
    approvals: fc.array(
      fc.record({ approver: hostile, at: hostile, via: opt(hostile), signed: opt(fc.boolean()) }).map(defined),
      { maxLength: 2 },
    ),
    separationOfDuties: fc.boolean(),
    deadline: hostile,
    onTimeout: fc.constantFrom('deny', 'escalate', 'proceed'),
    editedFrom: opt(fc.record({ args: jsonArgs, argsHash: hostile, by: hostile })),
  })
  .map((r) => defined(r) as ApprovalRequest);

const pause: fc.Arbitrary<RunPause> = fc
  .record({
    pauseId: hostile,
    kind: fc.constantFrom('plan_review', 'checkpoint', 'budget', 'step_budget', 'check_in', 'tool_failure'),
    detail: hostile,
    actions: fc.subarray(['continue', 'stop', 'retry', 'skip', 'abort', 'approve', 'reject', 'edit'] as const, {
      minLength: 1,
    }),
    openedAt: hostile,
    deadline: hostile,
    onTimeout: fc.constantFrom('stop', 'reject', 'abort'),
    eligible: hostiles(3),
    separationOfDuties: fc.boolean(),
    plan: opt(
      fc.array(
        fc.record({
          tool: hostile,
          args: jsonArgs,
          argsHash: hostile,
          gate: fc.constantFrom('auto', 'auto_logged', 'soft', 'hard', 'deny'),
          summary: hostile,
        }),
        { maxLength: 3 },
      ),
    ),
  })
  .map((p) => defined(p) as RunPause);

const counts = fc.record({
  approvals: fc.nat(),
  rejections: fc.nat(),
  edits: fc.nat(),
  expiries: fc.nat(),
  responses: fc.nat(),
  denied: fc.nat(),
  blocked: fc.nat(),
  executed: fc.nat(),
  failed: fc.nat(),
  invalid: fc.nat(),
});

const status: fc.Arbitrary<RunStatus> = fc
  .record({
    workflowId: hostile,
    goal: hostile,
    requestedBy: hostile,
    phase: fc.constantFrom('thinking', 'running_tools', 'awaiting_approval', 'paused', 'completed', 'stopped'),
    step: fc.nat(),
    pendingRequests: fc.nat(),
    counts,
    answer: opt(hostile),
    policyVersion: hostile,
    policyName: opt(hostile),
    policySha256: opt(hostile),
    pause: opt(pause),
    spentUsd: fc.double({ min: 0, max: 1000, noNaN: true }),
    earlierRuns: hostiles(2),
  })
  .map((s) => defined(s) as RunStatus);

const result: fc.Arbitrary<AgentRunResult> = fc
  .record({
    answer: hostile,
    stopped: opt(fc.record({ by: hostile, reason: hostile })),
    policyVersion: hostile,
    steps: fc.nat(),
    outcomes: fc.array(
      fc
        .record({
          toolCallId: hostile,
          tool: hostile,
          args: jsonArgs,
          status: fc.constantFrom('executed', 'rejected', 'expired', 'denied', 'failed', 'stopped'),
          decidedBy: opt(hostile),
          error: opt(hostile),
          resultRef: opt(fc.record({ sha256: hostile, bytes: fc.nat() })),
        })
        .map(defined),
      { maxLength: 3 },
    ),
    counts,
    earlierRuns: hostiles(1),
  })
  .map((r) => defined(r) as AgentRunResult);

/** Audit entries with seq 1…N; every string, the kind too (a query answer is not trusted here), is hostile. */
const audit: fc.Arbitrary<AuditEntry[]> = fc
  .array(
    fc.record({
      at: hostile,
      kind: fc.oneof(fc.constantFrom('decision', 'tool_executed'), hostile),
      actor: hostile,
      requestId: opt(hostile),
      tool: opt(hostile),
      detail: hostile,
    }),
    { minLength: 1, maxLength: 8 },
  )
  .map((entries) => entries.map((e, i) => defined({ ...e, kind: e.kind as AuditKind, seq: i + 1 })));

// Keys whose strings are the workflow's own words, which choose a branch: kept when the rest becomes plain text.
const CHOICES = new Set(['gate', 'onTimeout', 'kind', 'actions', 'phase', 'status', 'reversibility', 'blastRadius']);

/** The same value with every free-text string replaced by `x`: the shape the output must keep. */
function plain<T>(value: T, key = ''): T {
  if (typeof value === 'string') return (CHOICES.has(key) ? value : 'x') as T;
  if (Array.isArray(value)) return value.map((v: unknown) => plain(v, key)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v, k)])) as T;
  }
  return value;
}

const lineCount = (text: string) => text.split('\n').length;

function assertClean(output: string, what: string): void {
  const raw = RAW_CONTROL.exec(output);
  assert.equal(raw, null, `${what} prints U+${raw?.[0].charCodeAt(0).toString(16).padStart(4, '0')} raw`);
}

/** Renders with `render`, checks the output is clean and has as many lines as the same input in plain text. */
function sameShape<T>(input: T, render: (value: T) => string, what: string): void {
  const output = render(input);
  assertClean(output, what);
  assert.equal(lineCount(output), lineCount(render(plain(input))), `${what}: the text changed the number of lines`);
}

/** Reverses escapeTerminal; a test that it loses nothing and so cannot be made to show one string as another. */
function unescapeTerminal(text: string): string {
  return text.replace(/\\(\\|n|r|t|x[0-9a-f]{2}|u\{[0-9A-F]{4}\})/g, (_, e: string) => {
    if (e === '\\') return '\\';
    if (e === 'n') return '\n';
    if (e === 'r') return '\r';
    if (e === 't') return '\t';
    return String.fromCharCode(parseInt(e.startsWith('x') ? e.slice(1) : e.slice(2, -1), 16));
  });
}

/** The text a CommonMark code span on `line` after `prefix` shows, or undefined when it is not exactly one span. */
function codeSpan(line: string, prefix: string): string | undefined {
  if (!line.startsWith(prefix)) return undefined;
  const match = /^(`+)(.*?)\1$/.exec(line.slice(prefix.length));
  if (match === null) return undefined;
  const [, fence, inner] = match as unknown as [string, string, string];
  // A run of exactly the fence's length inside would close the span early.
  if (inner.split(/[^`]+/).includes(fence)) return undefined;
  const strip = inner.startsWith(' ') && inner.endsWith(' ') && inner.trim() !== '';
  return strip ? inner.slice(1, -1) : inner;
}

describe('fuzz: rendering what others wrote', () => {
  it('prints one line per audit entry, each starting with its own seq, whatever the entries hold', (t) => {
    let entries = 0;
    fc.assert(
      fc.property(audit, (trail) => {
        entries += trail.length;
        const output = formatAudit(trail);
        assertClean(output, 'formatAudit');
        const lines = output.split('\n');
        assert.equal(lines.length, trail.length);
        lines.forEach((line, i) => assert.ok(line.trimStart().startsWith(`${trail[i]!.seq} `), line));
      }),
      params,
    );
    t.diagnostic(`${RUNS} generated trails, ${entries} entries`);
  });

  it('keeps the shape of every terminal output: no raw control, the same number of lines as plain text', (t) => {
    fc.assert(
      fc.property(request, status, result, (req, run, res) => {
        sameShape(req, renderApprovalRequest, 'renderApprovalRequest');
        sameShape(req, formatPendingLine, 'formatPendingLine');
        sameShape(req, decisionCommands, 'decisionCommands');
        sameShape({ run, req }, (v) => formatShow(v.run, [v.req]), 'formatShow');
        sameShape(res, formatResult, 'formatResult');
        if (run.pause !== undefined) {
          sameShape(run.pause, renderPause, 'renderPause');
          sameShape({ id: run.workflowId, p: run.pause }, (v) => resumeCommands(v.id, v.p), 'resumeCommands');
        }
      }),
      params,
    );
    t.diagnostic(`${RUNS} generated requests, run statuses and results`);
  });

  it('keeps the Web UI details clean, with each request arguments in a code span that parses back to them', (t) => {
    fc.assert(
      fc.property(hostile, fc.array(request, { maxLength: 2 }), opt(pause), (goal, pending, open) => {
        const details = (v: { goal: string; pending: ApprovalRequest[]; open: RunPause | undefined }) =>
          renderCurrentDetails({
            workflowId: 'agent-1',
            goal: v.goal,
            pending: v.pending,
            ...(v.open !== undefined ? { pause: v.open } : {}),
            idle: 'idle',
          });
        sameShape({ goal, pending, open }, details, 'renderCurrentDetails');
        const shown = details({ goal, pending, open })
          .split('\n')
          .flatMap((line) => {
            const code = codeSpan(line, '- arguments: ');
            return code !== undefined ? [code] : [];
          });
        assert.equal(shown.length, pending.length, 'one arguments line per request, one code span each');
        shown.forEach((code, i) => assert.deepEqual(JSON.parse(code), JSON.parse(JSON.stringify(pending[i]!.args))));
      }),
      params,
    );
    t.diagnostic(`${RUNS} generated details`);
  });

  it('escapes text reversibly, to one line with no raw control', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const shown = escapeTerminal(text);
        assertClean(shown, 'escapeTerminal');
        assert.ok(!shown.includes('\n'));
        assert.equal(unescapeTerminal(shown), text);
        assert.deepEqual(JSON.parse(displayJson({ text })), { text });
      }),
      params,
    );
  });
});
