import { toolCatalog } from '../tools/catalog';
import { PolicySchema, type Policy, type PolicyInput } from './schema';

/** The version the built-in policy records on the audit trail. */
export const DEFAULT_POLICY_VERSION = 'built-in-default';

/**
 * The policy a worker uses when none is configured. It reproduces the behaviour from before policies existed:
 *
 * - every catalog tool classified `irreversible` is `hard`, every other catalog tool `auto`;
 * - no groups, so anyone (any non-empty name) may decide, and separation of duties is off (the requester may approve);
 * - no `defaults.timeout`, so a request waits for the run's own approval timeout (`ctx.defaultTimeoutMs`) and is denied
 *   at its deadline (`onTimeout: deny`, no escalation);
 * - no reminders (`reminderBefore: 0`);
 * - a tool the catalog does not list is `hard` (fail closed).
 *
 * Built from the catalog at module load, deterministically: safe to import in workflow code.
 */
export const DEFAULT_POLICY: Policy = PolicySchema.parse({
  version: DEFAULT_POLICY_VERSION,
  defaults: { onTimeout: 'deny', separationOfDuties: false, reminderBefore: 0 },
  tools: Object.fromEntries(
    [...toolCatalog.values()].map((t) => [
      t.name,
      { gate: t.classification.reversibility === 'irreversible' ? 'hard' : 'auto' },
    ]),
  ),
  unclassified: { gate: 'hard' },
} satisfies PolicyInput);
