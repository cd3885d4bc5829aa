// The demo's policy: a policy file with every timer divided by a factor, so a person can watch a soft window pass and a
// request escalate in seconds instead of hours. Demo only: a worker never scales its policy.
import { PolicySchema, type Policy } from '../src/shared/policy/schema';

type Stage = { groups: string[]; timeout: number };
type Timed = { timeout?: number; softWindow?: number; escalation?: Stage[] };

/**
 * Divides every duration of a parsed policy by `factor`: defaults (timeout, softWindow, reminderBefore, escalation),
 * each tool's and rule's timeout, softWindow and escalation, and `unclassified`'s. A duration never drops below 1 ms
 * (0, reminders off, stays 0). When `factor` is not 1 the version gets a suffix, so the audit trail does not claim the
 * shipped timers.
 * @param policy - a parsed policy (durations in ms)
 * @param factor - how many times faster, > 0
 * @returns the scaled policy, parsed again
 */
export function scalePolicyTimers(policy: Policy, factor: number): Policy {
  if (!(factor > 0) || !Number.isFinite(factor))
    throw new Error(`the time scale must be a positive number, got ${factor}`);
  const ms = (value: number): number => (value === 0 ? 0 : Math.max(1, Math.round(value / factor)));
  const stages = (list: Stage[]): Stage[] => list.map((s) => ({ ...s, timeout: ms(s.timeout) }));
  const layer = <T extends Timed>(l: T): T => ({
    ...l,
    ...(l.timeout !== undefined ? { timeout: ms(l.timeout) } : {}),
    ...(l.softWindow !== undefined ? { softWindow: ms(l.softWindow) } : {}),
    ...(l.escalation !== undefined ? { escalation: stages(l.escalation) } : {}),
  });
  const d = policy.defaults;
  return PolicySchema.parse({
    ...policy,
    version: factor === 1 ? policy.version : `${policy.version} (timers ${factor}x faster)`,
    defaults: {
      ...d,
      ...(d.timeout !== undefined ? { timeout: ms(d.timeout) } : {}),
      softWindow: ms(d.softWindow),
      reminderBefore: ms(d.reminderBefore),
      escalation: stages(d.escalation),
    },
    tools: Object.fromEntries(
      Object.entries(policy.tools).map(([name, tool]) => [
        name,
        { ...layer(tool), ...(tool.rules !== undefined ? { rules: tool.rules.map(layer) } : {}) },
      ]),
    ),
    unclassified: layer(policy.unclassified),
  });
}
