import { join } from 'node:path';
import { loadPolicyFile } from '../../src/node/policy-file';
import { PolicySchema, type Policy } from '../../src/shared/policy/schema';
import { repoRoot } from './env';

/** The shipped example policy (support: sam, sue; finance; admins), parsed. */
export const examplePolicy = loadPolicyFile(join(repoRoot, 'policies/example.yaml'));

/**
 * The example policy with some tool entries replaced (durations as text, as in a file), reminders off.
 * @param version - the variant's version, recorded on the audit trail
 * @param tools - tool entries to replace
 */
export function policyVariant(version: string, tools: Record<string, unknown>): Policy {
  return PolicySchema.parse({
    ...examplePolicy,
    version,
    defaults: { ...examplePolicy.defaults, reminderBefore: 0 },
    tools: { ...examplePolicy.tools, ...tools },
  });
}
