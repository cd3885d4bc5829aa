import assert from 'node:assert/strict';
import { ConfigError } from '../../src/shared/errors';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicyFile } from '../../src/node/policy-file';
import { PolicySchema, type Policy } from '../../src/shared/policy/schema';
import { repoRoot, tempDir } from './env';

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

/**
 * Writes policies to a new directory, one JSON file each named by its version, for a worker in a process of its own
 * (`HITL_POLICY=<dir>`): runs then name them by version.
 * @returns the directory
 */
export function writePolicyDir(policies: readonly Policy[]): string {
  const dir = tempDir('hitl-policies-');
  for (const p of policies) writeFileSync(join(dir, `${p.version}.json`), JSON.stringify(p));
  return dir;
}

/** The message of the ConfigError `fn` throws; fails the test when it throws none or another error. */
export function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected a ConfigError');
}
