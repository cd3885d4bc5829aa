import { join } from 'node:path';
import { loadPolicyFile } from '../../src/policy/load';
import { repoRoot } from '../support/env';

/** The shipped example policy (support: sam, sue; finance; admins), as the fuzz tests' runs carry it. */
export const examplePolicy = loadPolicyFile(join(repoRoot, 'policies/example.yaml'));
