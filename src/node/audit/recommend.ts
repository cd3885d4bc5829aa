import { z } from 'zod';
import type { AuditStats, GateStats } from './stats';

/**
 * When `hitl stats` recommends a change. Rates are fractions of a row's decided requests (those that ended approved,
 * edited, rejected, responded or expired); a row with fewer than `minRequests` of them recommends nothing.
 */
export const RecommendationSettingsSchema = z
  .object({
    /** Decided requests a row needs before anything is said about it (default 20). */
    minRequests: z.number().int().min(1).default(20),
    /** Approved unedited at least this often: a lighter gate is worth considering (default 0.95). */
    lighterGateAt: z.number().min(0).max(1).default(0.95),
    /** Edited at least this often: the tool's arguments or the agent's prompt are unclear (default 0.2). */
    editRateAt: z.number().min(0).max(1).default(0.2),
    /** Rejected at least this often: the agent misreads the goal (default 0.2). */
    rejectRateAt: z.number().min(0).max(1).default(0.2),
    /** Expired at least this often: the timeout or the approver group is wrong (default 0.15). */
    expiryRateAt: z.number().min(0).max(1).default(0.15),
  })
  .strict();

/** Parsed {@link RecommendationSettingsSchema}. */
export type RecommendationSettings = z.output<typeof RecommendationSettingsSchema>;

/** What a recommendation is about. */
export type RecommendationKind = 'lighter_gate' | 'unclear_arguments' | 'misread_goal' | 'timeout_or_group';

/** A change the data suggests; never applied by the runtime, only shown. */
export interface Recommendation {
  kind: RecommendationKind;
  tool: string;
  gate: 'soft' | 'hard';
  rule: string;
  /** One sentence: what to consider. */
  advice: string;
  /** The figures behind it, e.g. `approved unedited 48 of 50 (96%)`. */
  evidence: string;
  /** For `lighter_gate`: the gate to consider instead. */
  lighterGate?: 'soft' | 'auto_logged';
}

/**
 * Recommendations from the figures of {@link auditStats}: a gate approved unedited nearly always may be lighter (a
 * hard gate soft, a soft gate auto_logged); a high edit rate says the tool's arguments or the agent's prompt are
 * unclear; a high reject rate that the agent misreads the goal; frequent expiries that the timeout or the approver
 * group is wrong. This is the evidence for progressive autonomy: start with approval on everything, and widen it
 * step by step only where the decisions people made show it is safe; a person decides, by editing the policy.
 * @param stats - the figures
 * @param settings - thresholds (see {@link RecommendationSettingsSchema} for the defaults)
 * @returns recommendations, by tool, gate and rule
 */
export function recommend(stats: AuditStats, settings: Partial<RecommendationSettings> = {}): Recommendation[] {
  const s = RecommendationSettingsSchema.parse(settings);
  const out: Recommendation[] = [];
  for (const row of stats.gates) {
    const { approved, edited, rejected, responded, expired } = row.ends;
    const decided = approved + edited + rejected + responded + expired;
    if (decided < s.minRequests) continue;
    const base = { tool: row.tool, gate: row.gate, rule: row.rule };
    const share = (n: number) => `${n} of ${decided} (${Math.round((100 * n) / decided)}%)`;
    if (approved / decided >= s.lighterGateAt) {
      const lighter = row.gate === 'hard' ? 'soft' : 'auto_logged';
      out.push({
        ...base,
        kind: 'lighter_gate',
        lighterGate: lighter,
        advice: `${row.tool} (${row.gate} gate) is approved unedited nearly always: consider a ${lighter} gate`,
        evidence: `approved unedited ${share(approved)}; ${rowTail(row)}`,
      });
    }
    if (edited / decided >= s.editRateAt) {
      out.push({
        ...base,
        kind: 'unclear_arguments',
        advice: `reviewers often edit ${row.tool}'s arguments: its argument descriptions or the agent's prompt are unclear`,
        evidence: `edited ${share(edited)}; ${rowTail(row)}`,
      });
    }
    if (rejected / decided >= s.rejectRateAt) {
      out.push({
        ...base,
        kind: 'misread_goal',
        advice: `reviewers often reject ${row.tool}: the agent misreads the goal it is given`,
        evidence: `rejected ${share(rejected)}; ${rowTail(row)}`,
      });
    }
    if (expired / decided >= s.expiryRateAt) {
      out.push({
        ...base,
        kind: 'timeout_or_group',
        advice: `${row.tool}'s requests often expire: its timeout is too short or its approver group is wrong`,
        evidence: `expired ${share(expired)}; ${rowTail(row)}`,
      });
    }
  }
  return out;
}

function rowTail(row: GateStats): string {
  return row.rule !== '' ? `rule '${row.rule}'` : "the tool's own gate";
}
