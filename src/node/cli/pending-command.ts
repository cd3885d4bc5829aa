import type { Command } from 'commander';
import Table from 'cli-table3';
import { pc } from './colour';
import { normalizeName } from '../../shared/identity/names';
import { displayJson, escapeTerminal as t } from '../../shared/render/escape';
import { renderPause, resumeCommands } from '../../shared/render/pause';
import { forPerson, listWaitingRuns, waitsOn, type WaitingRun } from '../client/waiting';
import { decisionCommands, formatPendingLine } from './format';
import { relativeTime } from '../../shared/render/relative-time';
import { note, print, withClient } from './io';

/** A run the worker did not answer for, from its search attributes alone. */
function formatUnread(run: WaitingRun): string {
  const what = run.status === 'Paused' ? 'paused for an answer' : `waiting on ${run.tools.join(', ') || 'a decision'}`;
  const risk = run.risk !== undefined ? ` (${run.risk === 'pause' ? 'pause' : `${run.risk} gate`})` : '';
  const who = run.deciders.map((d) => (d === '*' ? 'anyone' : d)).join(', ') || 'not recorded';
  const groups = run.groups.length > 0 ? ` (groups ${run.groups.join(', ')})` : '';
  const deadline = run.deadline !== undefined ? `; deadline ${run.deadline} (${relativeTime(run.deadline)})` : '';
  return [
    `${t(run.workflowId)}  ${pc.yellow('details unavailable')}: ${t(run.unreadable ?? 'not read')}`,
    `  ${t(what)}${t(risk)}; may decide: ${t(who)}${t(groups)}${t(deadline)}`,
  ].join('\n');
}

/** One row per waiting run, for a terminal: what waits, its risk, who may decide, and when. */
function summaryTable(runs: readonly WaitingRun[]): string {
  const table = new Table({
    head: ['run', 'waits on', 'risk', 'may decide', 'deadline'].map((h) => pc.bold(h)),
    style: { head: [], border: [] },
  });
  for (const r of runs) {
    const waits = r.status === 'Paused' ? 'an answer (paused)' : r.tools.join(', ') || 'a decision';
    const who = r.deciders.map((d) => (d === '*' ? 'anyone' : d)).join(', ');
    const when = r.deadline !== undefined ? relativeTime(r.deadline) : '';
    const late = when.startsWith('overdue') ? pc.red(when) : when;
    table.push([t(r.workflowId), t(waits), t(r.risk ?? ''), t(who), late]);
  }
  return table.toString();
}

/** Adds `hitl pending`. */
export function addPendingCommand(program: Command): void {
  program
    .command('pending')
    .description(
      'list every run waiting for people, from Temporal visibility (with no worker up too), with details from the ' +
        "runs' workers when they answer",
    )
    .option('--as <name>', 'only what NAME may decide or answer now')
    .option('--json', 'print {"requests": […], "paused": […], "unreadable": […]}')
    .action(async (opts: { as?: string; json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        let runs = await listWaitingRuns(client);
        const who = opts.as !== undefined ? normalizeName(opts.as) : undefined;
        if (who !== undefined) runs = runs.filter((r) => waitsOn(r, who));
        const mine = (r: WaitingRun) =>
          who !== undefined ? forPerson(r, who) : { requests: r.requests ?? [], pause: r.pause };
        const requests = runs.flatMap((r) => mine(r).requests).sort((a, b) => a.deadline.localeCompare(b.deadline));
        const paused = runs.flatMap((r) => {
          const pause = mine(r).pause;
          return pause !== undefined ? [{ workflowId: r.workflowId, pause }] : [];
        });
        const unreadable = runs.filter((r) => r.unreadable !== undefined);
        if (opts.json === true) {
          const unread = unreadable.map(({ requests: _r, pause: _p, ...rest }) => rest);
          return print(displayJson({ requests, paused, unreadable: unread }, 2));
        }
        if (runs.length === 0) {
          return print(who !== undefined ? `nothing is waiting for ${t(who)}` : 'nothing is waiting for approval');
        }
        const blocks = [
          ...paused.map(
            ({ workflowId, pause }) =>
              `${pc.bold(t(workflowId))}\n${renderPause(pause)}\n  deadline ${relativeTime(pause.deadline)}\n` +
              resumeCommands(workflowId, pause),
          ),
          ...requests.map((p) => `${formatPendingLine(p)}\n${decisionCommands(p)}`),
          ...unreadable.map(formatUnread),
        ];
        if (process.stdout.isTTY) print(`${summaryTable(runs)}\n`);
        print(blocks.join('\n\n'));
        if (unreadable.length > 0) {
          note(
            `${unreadable.length} waiting run(s) could not be read (listed from their search attributes only): ` +
              'start a worker to see their details and decide them',
          );
        }
      });
    });
}
