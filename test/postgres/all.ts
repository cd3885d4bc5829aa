// The tests of Temporal on PostgreSQL that start servers of their own (`npm run test:postgres` runs this after the
// whole suite against the `npm run server:postgres` server). They need the server binary built by
// scripts/temporal-server.sh, PostgreSQL (test/support/postgres.ts) and openssl.
import { after } from 'node:test';
import { closeSharedEnv } from '../support/env';
import { stopSharedPostgres } from '../support/postgres';

import './split-services.test';
import './mtls.test';

after(async () => {
  await closeSharedEnv();
  await stopSharedPostgres();
});
