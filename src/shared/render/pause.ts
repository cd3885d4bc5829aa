import type { RunPause } from '../run-state';
import { displayJson, escapeTerminal, partsForTerminal, shellJson, shellWord, type Fact, type Part } from './escape';

const TITLES: Record<RunPause['kind'], string> = {
  plan_review: 'plan review',
  checkpoint: 'checkpoint',
  budget: 'spending budget reached',
  step_budget: 'step budget reached',
  check_in: 'check-in',
  tool_failure: 'a tool keeps failing',
};

/** What each answer does, in words, for the reviewer. */
const ACTION_EFFECTS: Record<RunPause['actions'][number], string> = {
  continue: 'the run goes on',
  stop: 'the run ends cleanly, nothing else runs',
  retry: 'the tool runs again with the same idempotency key',
  skip: 'the call is dropped and the agent is told',
  abort: 'the run ends cleanly, nothing else runs',
  approve: 'each planned step runs without a request of its own where the approver may approve it alone',
  edit: 'the edited steps become the plan',
  reject: 'nothing in the plan runs; the agent reads the reason and replans',
};

/** Why the run paused, in a few words (`plan review`, `a tool keeps failing`…). */
export function pauseTitle(pause: RunPause): string {
  return TITLES[pause.kind];
}

/**
 * The facts a person needs to answer a pause, as labels and values, unescaped: each output escapes them its own way.
 * @param pause - the open pause (from the `status` query)
 */
export function pauseFacts(pause: RunPause): Fact[] {
  const who = pause.eligible.length > 0 ? pause.eligible.join(', ') : 'anyone';
  return [
    ['answers', [pause.actions.map((a) => `${a} (${ACTION_EFFECTS[a]})`).join('; ')]],
    ['who may answer', [`${who}${pause.separationOfDuties ? '; not the person who requested the run' : ''}`]],
    ['deadline', [`${pause.deadline}; then ${pause.onTimeout} (never an approval)`]],
    ['pause', [pause.pauseId]],
  ];
}

/**
 * The steps of a plan under review, one each (`1. Refund $9.92 on invoice #1 … [hard gate] {"invoiceId":1,…}`), the
 * arguments as code; empty when the pause is not a plan review.
 * @param pause - the open pause
 */
export function planLines(pause: RunPause): Part[][] {
  const plan = pause.plan ?? [];
  if (pause.kind === 'plan_review' && plan.length === 0) return [['(the agent proposed no valid step)']];
  return plan.map((s, i) => [`${i + 1}. ${s.summary} [${s.gate} gate] `, { code: displayJson(s.args) }]);
}

/**
 * Renders an open pause as plain text for a terminal (`hitl show`, the demo), every string from the run escaped
 * ({@link escapeTerminal}): the number of lines depends on the number of steps and facts only.
 * @param pause - the open pause
 * @returns lines: what happened and what is asked, then one `- label: value` line per fact (plan steps one per line)
 */
export function renderPause(pause: RunPause): string {
  const lines = [`Paused (${pauseTitle(pause)}): ${escapeTerminal(pause.detail)}`];
  const steps = planLines(pause);
  if (steps.length > 0) lines.push('- plan:', ...steps.map((s) => `    ${partsForTerminal(s)}`));
  for (const [k, v] of pauseFacts(pause)) lines.push(`- ${k}: ${partsForTerminal(v)}`);
  return lines.join('\n');
}

/**
 * The commands a person types to answer a pause, one per line; the run's id and the plan shell-quoted and escaped, so
 * a pasted command runs nothing else.
 * @param workflowId - the paused run
 * @param pause - its open pause
 */
export function resumeCommands(workflowId: string, pause: RunPause): string {
  const run = shellWord(workflowId);
  return pause.actions
    .map((action) => {
      const extra =
        action === 'edit'
          ? ` --steps ${shellJson((pause.plan ?? []).map((s) => ({ tool: s.tool, args: s.args })))}`
          : action === 'reject' || action === 'stop' || action === 'abort'
            ? ' --reason "why"'
            : '';
      const verb = shellWord(action);
      return `  ${`${verb}:`.padEnd(9)} npx hitl resume ${run} ${verb} --as YOUR_NAME${extra}`;
    })
    .join('\n');
}
