// `npm run test:model`: the real-model test, apart from `npm test` because it needs the model file (about 94 MB, fetched
// once into the user's cache) and takes minutes on a CPU.
import { after } from 'node:test';
import { closeSharedEnv } from '../support/env';

import './real-run.test';

after(async () => {
  await closeSharedEnv();
});
