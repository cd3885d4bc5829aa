import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { suggestPolicy } from '../audit/suggest-policy';
import { auditStats, decisionTimesByDay, type AuditStats, type GateStats } from '../audit/stats';
import { chartJsBundle, statsReportHtml } from '../audit/stats-report';
import { recommend, RecommendationSettingsSchema, type Recommendation } from '../audit/recommend';
import { InputError } from '../../shared/errors';
import { displayJson, escapeTerminal as t } from '../../shared/render/escape';
import { formatZodError } from '../../shared/zod-format';
import { sinceTime, withStore } from './audit-commands';
import { note, print } from './io';

/**
 * Adds `hitl stats [--since 30d] [--tool T] [--json] [--html FILE] [--min-requests N]`: the decisions people made, read
 * from the audit store, and the recommendations they support; `--html` writes them as a self-contained page with charts.
 * @param program - the CLI's root command
 */
export function addStatsCommand(program: Command): void {
  program
    .command('stats')
    .description('how approval requests ended, per tool, gate and rule, and what the data recommends')
    .option('--since <when>', 'a duration back from now (30d, 12h) or an ISO-8601 time', '30d')
    .option('--tool <tool>', 'only this tool')
    .option('--json', 'print JSON')
    .option('--html <file>', 'write a self-contained HTML report with charts to FILE instead of printing the text')
    .option('--db <file>', 'the audit store (default: HITL_AUDIT_DB, else .data/audit.sqlite)')
    .option('--min-requests <n>', 'decided requests a row needs before it recommends anything', '20')
    .option('--suggest-policy', 'print the gate changes it recommends as a diff of the policy file (writes nothing)')
    .option('--policy <file>', 'the policy file for --suggest-policy (default: HITL_POLICY)')
    .action(async (opts: StatsOptions) => {
      if (opts.html !== undefined && opts.suggestPolicy === true) {
        throw new InputError('--html and --suggest-policy do not go together');
      }
      const settings = RecommendationSettingsSchema.safeParse({ minRequests: Number(opts.minRequests) });
      if (!settings.success) throw new InputError(`--min-requests: ${formatZodError(settings.error)}`);
      const since = sinceTime(opts.since);
      const records = (await withStore(opts.db, true, (store) => store.recordsSince(since))) ?? [];
      const stats = auditStats(records, { since, ...(opts.tool !== undefined ? { tool: opts.tool } : {}) });
      const recommendations = recommend(stats, settings.data);
      if (opts.suggestPolicy === true) {
        printSuggestion(opts.policy ?? process.env.HITL_POLICY, recommendations);
        return;
      }
      if (opts.html !== undefined) {
        const series = decisionTimesByDay(records, opts.tool !== undefined ? { tool: opts.tool } : {});
        const html = statsReportHtml({
          stats,
          recommendations,
          series,
          chartJs: chartJsBundle(),
          generatedAt: new Date().toISOString(),
        });
        writeReport(opts.html, html);
        note(`report written to ${resolve(opts.html)} (${stats.requests} request(s); open it in a browser)`);
        if (opts.json !== true) return;
      }
      print(opts.json === true ? displayJson({ ...stats, recommendations }, 2) : formatStats(stats, recommendations));
    });
}

interface StatsOptions {
  since: string;
  tool?: string;
  json?: boolean;
  html?: string;
  db?: string;
  minRequests: string;
  suggestPolicy?: boolean;
  policy?: string;
}

/** `--html FILE`: the report, or an InputError naming the file when it cannot be written. */
function writeReport(file: string, html: string): void {
  try {
    writeFileSync(file, html, 'utf8');
  } catch (err) {
    throw new InputError(`--html: cannot write ${file}: ${(err as Error).message}`);
  }
}

/** `--suggest-policy`: the diff, what it changes, and what it could not. */
function printSuggestion(file: string | undefined, recommendations: readonly Recommendation[]): void {
  if (file === undefined || file.trim() === '')
    throw new InputError('--suggest-policy needs --policy FILE or HITL_POLICY');
  if (!existsSync(file) || !statSync(file).isFile()) throw new InputError(`--policy: ${file} is not a policy file`);
  const suggestion = suggestPolicy(file, readFileSync(file, 'utf8'), recommendations);
  // The diff quotes the operator's own file, and the values it sets are gate names.
  if (suggestion.diff !== '') print(suggestion.diff.trimEnd());
  for (const c of suggestion.changes) note(`suggested: ${c}`);
  for (const s of suggestion.skipped) note(`not suggested: ${s}`);
  note(
    suggestion.changes.length > 0
      ? 'nothing was written: review the diff, bump the policy version, and apply it by hand'
      : 'no gate change is suggested',
  );
}

/**
 * The text of `hitl stats`: one block per tool, gate and rule, then people, groups and recommendations. Every string
 * from the store (tool names, rules, people) is escaped.
 */
export function formatStats(stats: AuditStats, recommendations: readonly Recommendation[]): string {
  const lines = [`${stats.requests} approval request(s) since ${t(stats.since ?? 'the beginning')}`];
  for (const row of stats.gates) lines.push('', ...formatRow(row));
  if (stats.people.length > 0) {
    lines.push('', 'decisions per person (approved / edited / rejected / responded):');
    for (const p of stats.people) {
      lines.push(`  ${t(p.person)}: ${p.approved} / ${p.edited} / ${p.rejected} / ${p.responded}`);
    }
  }
  if (stats.groups.length > 0) {
    lines.push('', 'approvals per group:');
    for (const g of stats.groups) lines.push(`  ${t(g.group)}: ${g.approvals}`);
  }
  lines.push(
    '',
    recommendations.length > 0
      ? 'recommendations (none is applied: edit the policy to act on one):'
      : 'no recommendations',
  );
  for (const r of recommendations) lines.push(`  - ${t(r.advice)}`, `    evidence: ${t(r.evidence)}`);
  return lines.join('\n');
}

function formatRow(row: GateStats): string[] {
  const e = row.ends;
  const time =
    row.medianDecisionMs !== undefined
      ? `time to decision: median ${duration(row.medianDecisionMs)}, p90 ${duration(row.p90DecisionMs ?? 0)}`
      : e.open > 0
        ? 'time to decision: none decided yet'
        : 'time to decision: none (no person closed one of these requests)';
  return [
    `${t(row.tool)}  ${row.gate} gate  ${row.rule !== '' ? `rule '${t(row.rule)}'` : "the tool's own gate"}`,
    `  ${row.requests} request(s): ${e.approved} approved unedited, ${e.edited} edited, ${e.rejected} rejected, ` +
      `${e.responded} answered, ${e.expired} expired, ${e.proceeded} proceeded unvetoed, ${e.open} open`,
    `  ${row.escalated} escalated, ${row.precheckStopped} stopped by a precheck after approval; ${time}`,
  ];
}

/** A duration for people: `850 ms`, `12.4 s`, `3.2 min`, `5.1 h`. */
function duration(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
