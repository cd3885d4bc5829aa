// The part of the integration suite that `.ci/run` runs against Temporal on PostgreSQL (`npm run test:postgres --
// --core`), chosen to cover what the persistence and SQL visibility store change, in about a third of the suite's
// time: runs end to end through every gate, signed decisions and authority, durability across worker shutdowns and the
// hitl CLI, continue-as-new, and the waiting list read from SQL visibility (search attributes). `npm run test:postgres`
// without `--core` runs all of test/all.ts (everything but the dev-server restart test).
import { after } from 'node:test';
import { closeSharedEnv } from '../support/env';
import { stopSharedPostgres } from '../support/postgres';

import '../agent-run.test';
import '../clients-and-durability.test';
import '../policy-gates.test';
import '../authority.test';
import '../continuation.test';
import '../cli-waiting.test';

after(async () => {
  await closeSharedEnv();
  await stopSharedPostgres();
});
