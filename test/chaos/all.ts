// The chaos suite's entry point (`npm run test:chaos`): crash and fault scenarios, one shared dev server for the
// process. Slow on purpose: HITL_CHAOS_KILLS (default 100) worker SIGKILLs take about ten minutes on two cores;
// HITL_CHAOS_KILLS=10 is the short pass.
import { after } from 'node:test';
import { closeSharedEnv } from '../support/env';

import './worker-kills.test';

after(async () => {
  await closeSharedEnv();
});
