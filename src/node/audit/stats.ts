import type { AuditRecord } from '../../shared/audit/chain';
import type { AuditFacts } from '../../shared/run-state';

/** How an approval request ended, as the audit store records it. */
export type RequestEnd = 'approved' | 'edited' | 'rejected' | 'responded' | 'expired' | 'proceeded' | 'open';

/** One approval request as its audit records tell it. */
export interface RequestStory {
  workflowId: string;
  requestId: string;
  tool: string;
  gate: 'soft' | 'hard';
  /** The tool's policy rule that matched; `''` for the tool's own gate. */
  rule: string;
  /** When the request opened (ISO-8601 workflow time). */
  requestedAt: string;
  end: RequestEnd;
  /** From opening to the decision that closed it (ms); absent when no decision closed it. */
  decisionMs?: number;
  escalated: boolean;
  /** An approved call the precheck stopped or sent back because what it touches had changed. */
  precheckStopped: boolean;
  /** Each approval, edit, rejection or answer, in order. */
  decisions: { by: string; decision: NonNullable<AuditFacts['decision']>; groups: string[]; at: string }[];
}

/** Counts and decision times of the requests of one tool, gate and rule. */
export interface GateStats {
  tool: string;
  gate: 'soft' | 'hard';
  /** The tool's policy rule; `''` for the tool's own gate. */
  rule: string;
  requests: number;
  /** Requests by how they ended. */
  ends: Record<RequestEnd, number>;
  escalated: number;
  precheckStopped: number;
  /** Median time from request to the closing decision (ms), over requests a decision closed. */
  medianDecisionMs?: number;
  /** 90th percentile of the same (ms), nearest rank. */
  p90DecisionMs?: number;
}

/** What `hitl stats` reports. */
export interface AuditStats {
  /** The window: records at or after this time (ISO-8601); absent for everything. */
  since?: string;
  requests: number;
  /** One row per tool, gate and rule, by tool then gate then rule. */
  gates: GateStats[];
  /** Approvals (edits included) and other decisions per person. */
  people: { person: string; approved: number; edited: number; rejected: number; responded: number }[];
  /** Approvals (edits included) per approver group. */
  groups: { group: string; approvals: number }[];
}

const ENDS: readonly RequestEnd[] = ['approved', 'edited', 'rejected', 'responded', 'expired', 'proceeded', 'open'];

/**
 * Reads the stories of the approval requests in audit records: which tool, gate and rule, who decided what and when,
 * and how each ended. Only the entries' facts and kinds are read, never their sentences (a model wrote part of them).
 * Requests opened before entries carried facts are left out.
 * @param records - audit records of any number of workflows, each workflow's in order
 */
export function requestStories(records: readonly AuditRecord[]): RequestStory[] {
  const stories = new Map<string, RequestStory & { closedAt?: string; ran: boolean }>();
  for (const r of records) {
    if (r.requestId === undefined) continue;
    const key = `${r.workflowId}\u0000${r.requestId}`;
    const story = stories.get(key);
    if (r.kind === 'approval_requested') {
      if (story !== undefined || r.facts?.gate === undefined || r.tool === undefined) continue;
      stories.set(key, {
        workflowId: r.workflowId,
        requestId: r.requestId,
        tool: r.tool,
        gate: r.facts.gate,
        rule: r.facts.rule ?? '',
        requestedAt: r.at,
        end: 'open',
        escalated: false,
        precheckStopped: false,
        decisions: [],
        ran: false,
      });
      continue;
    }
    if (story === undefined) continue;
    switch (r.kind) {
      case 'decision': {
        const decision = r.facts?.decision;
        if (decision === undefined) break;
        story.decisions.push({ by: r.facts?.signer ?? r.actor, decision, groups: r.facts?.groups ?? [], at: r.at });
        if (r.facts?.closed === true && story.closedAt === undefined) {
          story.closedAt = r.at;
          story.decisionMs = Date.parse(r.at) - Date.parse(story.requestedAt);
        }
        break;
      }
      case 'approval_escalated':
        story.escalated = true;
        break;
      case 'approval_expired':
        story.end = 'expired';
        break;
      case 'approval_reopened':
      case 'precheck_failed':
        story.precheckStopped = true;
        break;
      case 'tool_executed':
      case 'tool_failed':
        story.ran = true;
        break;
      default:
        break;
    }
  }
  return [...stories.values()].map(({ closedAt, ran, ...story }) => {
    if (story.end !== 'expired') story.end = endOf(story, closedAt !== undefined, ran);
    return story;
  });
}

function endOf(story: RequestStory, closed: boolean, ran: boolean): RequestEnd {
  const closing = closed ? story.decisions[story.decisions.length - 1] : undefined;
  if (closing === undefined) return story.gate === 'soft' && ran ? 'proceeded' : 'open';
  switch (closing.decision) {
    case 'reject':
      return 'rejected';
    case 'respond':
      return 'responded';
    default:
      return story.decisions.some((d) => d.decision === 'edit') ? 'edited' : 'approved';
  }
}

/**
 * The figures of `hitl stats`: per tool, gate and rule, how requests ended, how long decisions took, how often they
 * escalated and how often a precheck stopped an approved call; per person and per group, what they decided.
 * @param records - audit records (e.g. the store's records since a time)
 * @param options - `tool`: only this tool's requests; `since`: the window, echoed in the result
 */
export function auditStats(
  records: readonly AuditRecord[],
  options: { tool?: string; since?: string } = {},
): AuditStats {
  const stories = requestStories(records).filter((s) => options.tool === undefined || s.tool === options.tool);
  const rows = new Map<string, { stats: GateStats; times: number[] }>();
  const people = new Map<string, AuditStats['people'][number]>();
  const groups = new Map<string, number>();
  for (const s of stories) {
    const key = `${s.tool}\u0000${s.gate}\u0000${s.rule}`;
    let row = rows.get(key);
    if (row === undefined) {
      const ends = Object.fromEntries(ENDS.map((e) => [e, 0])) as Record<RequestEnd, number>;
      row = {
        stats: { tool: s.tool, gate: s.gate, rule: s.rule, requests: 0, ends, escalated: 0, precheckStopped: 0 },
        times: [],
      };
      rows.set(key, row);
    }
    row.stats.requests += 1;
    row.stats.ends[s.end] += 1;
    if (s.escalated) row.stats.escalated += 1;
    if (s.precheckStopped) row.stats.precheckStopped += 1;
    if (s.decisionMs !== undefined) row.times.push(s.decisionMs);
    for (const d of s.decisions) {
      const person = people.get(d.by) ?? { person: d.by, approved: 0, edited: 0, rejected: 0, responded: 0 };
      people.set(d.by, person);
      if (d.decision === 'approve') person.approved += 1;
      else if (d.decision === 'edit') person.edited += 1;
      else if (d.decision === 'reject') person.rejected += 1;
      else person.responded += 1;
      if (d.decision === 'approve' || d.decision === 'edit') {
        for (const g of d.groups) groups.set(g, (groups.get(g) ?? 0) + 1);
      }
    }
  }
  const gates = [...rows.values()]
    .map(({ stats, times }) => {
      const median = percentile(times, 0.5);
      const p90 = percentile(times, 0.9);
      return {
        ...stats,
        ...(median !== undefined ? { medianDecisionMs: median } : {}),
        ...(p90 !== undefined ? { p90DecisionMs: p90 } : {}),
      };
    })
    .sort((a, b) => a.tool.localeCompare(b.tool) || a.gate.localeCompare(b.gate) || a.rule.localeCompare(b.rule));
  return {
    ...(options.since !== undefined ? { since: options.since } : {}),
    requests: stories.length,
    gates,
    people: [...people.values()].sort((a, b) => a.person.localeCompare(b.person)),
    groups: [...groups.entries()]
      .map(([group, approvals]) => ({ group, approvals }))
      .sort((a, b) => b.approvals - a.approvals || a.group.localeCompare(b.group)),
  };
}

/** The closing decisions of one tool on one day. */
export interface DecisionDay {
  /** The UTC day the closing decisions were made (`YYYY-MM-DD`). */
  day: string;
  /** Closing decisions made that day. */
  decisions: number;
  /** Their median time from request to decision (ms), nearest rank. */
  medianMs: number;
}

/** One tool's time to decision over time. */
export interface DecisionSeries {
  tool: string;
  /** Days with at least one closing decision, oldest first. */
  days: DecisionDay[];
}

/**
 * Time to decision over time: the requests a decision closed, per tool (all its gates and rules together), bucketed by
 * the UTC day of the closing decision, with the median time from request to decision of each day. Requests that
 * expired, proceeded or are still open have no decision time and are left out, as in {@link auditStats}.
 * @param records - audit records (e.g. the store's records since a time)
 * @param options - `tool`: only this tool's requests
 * @returns one series per tool, by tool name; a tool with no closing decision has none
 */
export function decisionTimesByDay(records: readonly AuditRecord[], options: { tool?: string } = {}): DecisionSeries[] {
  const byTool = new Map<string, Map<string, number[]>>();
  for (const s of requestStories(records)) {
    if (s.decisionMs === undefined || (options.tool !== undefined && s.tool !== options.tool)) continue;
    const closedAt = Date.parse(s.requestedAt) + s.decisionMs;
    // A time the store holds is ISO-8601; one that is not has no day to go under.
    if (!Number.isFinite(closedAt)) continue;
    const day = new Date(closedAt).toISOString().slice(0, 10);
    const days = byTool.get(s.tool) ?? new Map<string, number[]>();
    byTool.set(s.tool, days);
    days.set(day, [...(days.get(day) ?? []), s.decisionMs]);
  }
  return [...byTool.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([tool, days]) => ({
      tool,
      days: [...days.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([day, times]) => ({ day, decisions: times.length, medianMs: percentile(times, 0.5) ?? 0 })),
    }));
}

/**
 * The nearest-rank percentile of a list of numbers.
 * @param values - any order
 * @param p - between 0 and 1
 * @returns undefined for an empty list
 */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1];
}
