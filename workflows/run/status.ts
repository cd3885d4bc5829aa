import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import {
  AgentDeadlineKey,
  AgentDecidersKey,
  AgentDecidingGroupsKey,
  AgentPendingToolsKey,
  AgentRiskTierKey,
  AgentStatusKey,
} from '../../src/shared/messages';
import { renderCurrentDetails, renderTally } from '../../src/shared/render/approval';
import type { AgentStatusValue, ApprovalRequest, RunPause, RunPhase } from '../../src/shared/run-state';
import { hasPatch, PATCHES } from '../patches';
import type { RunProgress } from './progress';

/** What the board shows besides the run's own progress: the open requests and the open pause. */
export interface StatusSources {
  pending(): ApprovalRequest[];
  pause(): RunPause | undefined;
}

/**
 * The run's status as others see it, kept in one place: the phase (the `status` query), the `AgentStatus` search
 * attribute (the Web UI's list and `hitl pending`) and the Web UI's current details (what waits for whom, with the
 * command that answers it). Everything that changes what waits calls {@link StatusBoard.publish}; the search
 * attribute is written only when its value changes, starting from the value the run already has (a run started with
 * `AgentStatus=Running` does not write it again).
 */
export class StatusBoard {
  #phase: RunPhase;
  /** The search attribute's value as the server has it; undefined when unknown. */
  #agentStatus: AgentStatusValue | undefined;
  #sources: StatusSources | undefined;
  readonly #workflowId: string;
  readonly #goal: string;
  readonly #progress: RunProgress;
  /** The waiting search attributes as last written (JSON of each value), by key name; see {@link waitingAttributes}. */
  readonly #waiting = new Map<string, string>();

  /**
   * @param workflowId - the run
   * @param goal - the run's goal, shown above what waits
   * @param progress - step, counts and how the run ends
   * @param carriedPhase - the phase an earlier segment of the run was in when it continued as new
   */
  constructor(workflowId: string, goal: string, progress: RunProgress, carriedPhase?: RunPhase) {
    this.#workflowId = workflowId;
    this.#goal = goal;
    this.#progress = progress;
    this.#phase = carriedPhase ?? 'thinking';
    // Runs from before this change wrote the attribute once more at their start; they replay along that path.
    if (hasPatch(PATCHES.statusFromCurrentValue)) {
      this.#agentStatus = workflowInfo().typedSearchAttributes.get(AgentStatusKey) as AgentStatusValue | undefined;
    }
    // A run that continued as new starts with its earlier segment's attributes: compare against those.
    const current = workflowInfo().typedSearchAttributes;
    for (const key of [
      AgentPendingToolsKey,
      AgentDecidersKey,
      AgentDecidingGroupsKey,
      AgentRiskTierKey,
      AgentDeadlineKey,
    ]) {
      const value: unknown = current.get(key);
      if (value !== undefined) this.#waiting.set(key.name, JSON.stringify(value));
    }
  }

  /** Names what the board reads the open requests and the open pause from (set once, before anything publishes). */
  watch(sources: StatusSources): void {
    this.#sources = sources;
  }

  /** The phase as the run itself tracks it. */
  get phase(): RunPhase {
    return this.#phase;
  }

  /** The phase as others see it: `paused` while a pause is open, whatever the loop was doing. */
  visiblePhase(): RunPhase {
    return this.#sources?.pause() !== undefined ? 'paused' : this.#phase;
  }

  /** Moves the loop to a phase and publishes. */
  setPhase(phase: RunPhase): void {
    this.#phase = phase;
    this.publish();
  }

  /** Ends the run's status: the final phase and search attribute value. */
  end(phase: 'completed' | 'stopped' | 'failed', value: AgentStatusValue): void {
    this.#phase = phase;
    this.#write(value);
    this.publish();
  }

  /** Brings the phase, the search attribute and the Web UI's current details in step with what waits now. */
  publish(): void {
    const pending = this.#sources?.pending() ?? [];
    const pause = this.#sources?.pause();
    if (pending.length > 0 && this.#phase === 'running_tools') this.#phase = 'awaiting_approval';
    if (pending.length === 0 && this.#phase === 'awaiting_approval') this.#phase = 'running_tools';
    if (pause !== undefined) this.#write('Paused');
    else if (this.#phase === 'awaiting_approval') this.#write('AwaitingApproval');
    else if (this.#phase === 'thinking' || this.#phase === 'running_tools') this.#write('Running');
    if (hasPatch(PATCHES.waitingSearchAttributes)) this.#writeWaiting(pending, pause);
    setCurrentDetails(
      renderCurrentDetails({
        workflowId: this.#workflowId,
        goal: this.#goal,
        pending,
        ...(pause !== undefined ? { pause } : {}),
        idle: renderTally(this.#headline(), this.#progress.counts),
      }),
    );
  }

  #headline(): string {
    const { step, stop } = this.#progress;
    switch (this.#phase) {
      case 'completed':
        return `Completed after ${step} model calls.`;
      case 'failed':
        return `Failed at model call ${step}.`;
      case 'stopped':
        return `Stopped by ${stop?.by ?? 'Temporal cancellation'}: ${stop?.reason ?? 'cancelled'}`;
      default:
        return `Step ${step}: ${this.visiblePhase().replace('_', ' ')}.`;
    }
  }

  /** Writes the search attributes of what waits, those whose value changed only (none after the run ends). */
  #writeWaiting(pending: readonly ApprovalRequest[], pause: RunPause | undefined): void {
    const w = waitingAttributes(pending, pause);
    const updates = [
      { key: AgentPendingToolsKey, value: w.tools.length > 0 ? w.tools : null },
      { key: AgentDecidersKey, value: w.deciders.length > 0 ? w.deciders : null },
      { key: AgentDecidingGroupsKey, value: w.groups.length > 0 ? w.groups : null },
      { key: AgentRiskTierKey, value: w.risk ?? null },
      { key: AgentDeadlineKey, value: w.deadline !== undefined ? new Date(w.deadline) : null },
    ].filter(({ key, value }) => {
      const json = JSON.stringify(value);
      // Unknown at first (a fresh run, or one that continued as new with its attributes): only a value is written.
      if ((this.#waiting.get(key.name) ?? 'null') === json) return false;
      this.#waiting.set(key.name, json);
      return true;
    });
    if (updates.length > 0) upsertSearchAttributes(updates);
  }

  #write(value: AgentStatusValue): void {
    if (value === this.#agentStatus) return;
    this.#agentStatus = value;
    upsertSearchAttributes([{ key: AgentStatusKey, value }]);
  }
}

/** What waits in a run, as its search attributes state it. */
export interface WaitingAttributes {
  /** Tools of the open requests, sorted, each once. */
  tools: string[];
  /** Who may decide or answer now, sorted; `*` when anyone may. */
  deciders: string[];
  /** Policy groups of the open requests' current stages, sorted. */
  groups: string[];
  risk: 'hard' | 'soft' | 'pause' | undefined;
  /** ISO-8601 earliest deadline. */
  deadline: string | undefined;
}

/**
 * Sums up what waits for people, for the run's search attributes.
 * @param pending - the open requests
 * @param pause - the open pause
 */
export function waitingAttributes(pending: readonly ApprovalRequest[], pause: RunPause | undefined): WaitingAttributes {
  const sorted = (values: Iterable<string>) => [...new Set(values)].sort();
  const deciders = [
    ...pending.flatMap((r) => (r.eligibleApprovers.length > 0 ? r.eligibleApprovers : ['*'])),
    ...(pause !== undefined ? (pause.eligible.length > 0 ? pause.eligible : ['*']) : []),
  ];
  const deadlines = [...pending.map((r) => r.deadline), ...(pause !== undefined ? [pause.deadline] : [])].sort();
  const risk = pending.some((r) => r.gate === 'hard')
    ? 'hard'
    : pending.length > 0
      ? 'soft'
      : pause !== undefined
        ? 'pause'
        : undefined;
  return {
    tools: sorted(pending.map((r) => r.tool)),
    deciders: sorted(deciders),
    groups: sorted(pending.flatMap((r) => r.stages[r.stage]?.groups ?? [])),
    risk,
    deadline: deadlines[0],
  };
}
