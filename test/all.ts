// The test entry point: every suite runs in this one process so they share one dev server and one workflow bundle.
import { after } from 'node:test';
import { closeSharedEnv, externalServerAddress } from './support/env';
import { stopSharedPostgres } from './support/postgres';

import './config.test';
import './connection-config.test';
import './render.test';
import './model.test';
import './local-grammar.test';
import './billing-tools.test';
import './agent-run.test';
import './clients-and-durability.test';
import './policy.test';
import './policy-file.test';
import './codec.test';
import './hostile-input.test';
import './policy-gates.test';
import './mcp-tools.test';
import './interruptions.test';
import './long-runs.test';
import './authority.test';
import './identity.test';
import './continuation.test';
import './audit-store.test';
import './audit-stats.test';
import './audit-store-postgres.test';
import './audit-stats-report.test';
import './notifications.test';
import './cli-waiting.test';
import './inbox.test';
import './replay.test';
import './fuzz/decisions.test';
import './fuzz/prompt-injection.test';
import './fuzz/continue-as-new.test';
import './fuzz/signatures.test';
import './fuzz/rendering.test';
import './slack-blocks.test';
import './slack.test';
import './slack-serve-cli.test';
import './observability/tracing.test';
import './observability/metrics.test';
import './workers/graceful-shutdown.test';

// Crashes and restarts a dev server of its own: it tests the server's durability, not the server the suite points at.
// Run against an external server (`npm run test:postgres`), it is left out; the dev-server run (`npm test`) has it.
if (externalServerAddress() === undefined) await import('./server-restart.test');

after(async () => {
  await closeSharedEnv();
  await stopSharedPostgres();
});
