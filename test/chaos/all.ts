// The chaos suite's entry point (`npm run test:chaos`): crash and fault scenarios, one shared dev server for the
// process. Slow on purpose: HITL_CHAOS_KILLS (default 100) worker SIGKILLs take about ten minutes on two cores, and
// the dev server of its own is crashed HITL_CHAOS_KILLS / 25 times (at least 2; HITL_CHAOS_SERVER_RESTARTS overrides).
// HITL_CHAOS_KILLS=10 is the short pass for CI. HITL_CHAOS_RACES (default 50) sets the racing decisions,
// HITL_CHAOS_CAN_ROUNDS (default HITL_CHAOS_KILLS × 0.4, at least 10) the bursts against a run continuing as new.
import { after } from 'node:test';
import { closeSharedEnv } from '../support/env';

import './model-faults.test';
import './concurrent-decisions.test';
import './continue-as-new-race.test';
import './server-restarts.test';
import './worker-kills.test';
import './tool-recovery.test';

after(async () => {
  await closeSharedEnv();
});
