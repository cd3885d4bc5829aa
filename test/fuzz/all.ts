// The fuzz suites on their own (`npm run test:fuzz`); test/all.ts imports the same files so `npm test` runs them too.
// HITL_FUZZ_RUNS raises the number of generated batches, HITL_FUZZ_SEED replays a failure.
import { after } from 'node:test';
import { closeSharedEnv } from '../support/env';

import './decisions.test';
import './prompt-injection.test';
import './continue-as-new.test';
import './signatures.test';
import './rendering.test';

after(async () => {
  await closeSharedEnv();
});
