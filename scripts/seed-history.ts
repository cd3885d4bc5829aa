// Seeds an audit store with decisions of scripted reviewers of known habits, then prints `hitl stats` on it:
// `npm run seed:history -- --runs 100 [--db FILE]`. Starts its own Temporal dev server (TEMPORAL_CLI) and worker.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openSqliteAuditStore } from '../src/node/audit/sqlite-store';
import { auditStats } from '../src/node/audit/stats';
import { recommend } from '../src/node/audit/recommend';
import { formatStats } from '../src/node/cli/stats-command';
import { closeSharedEnv, repoRoot } from '../test/support/env';
import { withWorker } from '../test/support/harness';
import { HABITS, seedReviewedRuns } from '../test/support/seeded-reviewers';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '100' }, db: { type: 'string' } },
});
const perHabit = Number(values.runs);
if (!Number.isInteger(perHabit) || perHabit < 1)
  throw new Error(`--runs takes a whole number of runs per habit, not "${values.runs}"`);
const path = values.db ?? join(repoRoot, '.data/seeded-audit.sqlite');
const store = openSqliteAuditStore(path);
const started = Date.now();
try {
  await withWorker((h) => seedReviewedRuns(h, perHabit), { auditStore: store });
  const stats = auditStats(await store.recordsSince());
  process.stdout.write(
    `${perHabit} runs for each of ${Object.keys(HABITS).length} reviewer habits in ${((Date.now() - started) / 1000).toFixed(0)} s; store: ${path}\n\n`,
  );
  process.stdout.write(`${formatStats(stats, recommend(stats))}\n`);
} finally {
  await store.close();
  await closeSharedEnv();
}
