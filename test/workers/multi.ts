// `npm run test:workers`: several worker processes on one task queue, some SIGKILLed while runs wait for approval and
// while tools run (about a minute; not part of `npm test`, whose graceful-shutdown test covers SIGTERM; .ci/run runs
// it after the short chaos pass).
import { after } from 'node:test';
import { closeSharedEnv } from '../support/env';

import './three-workers.test';

after(async () => {
  await closeSharedEnv();
});
