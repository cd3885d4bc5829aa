import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { quietBundlerLogger, tempDir } from '../test/support/env';
import { workflowBundleOptions } from '../worker';
import type { PatchId } from '../workflows/patch-ids';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

/**
 * Bundles the workflows as they were before the named changes: `hasPatch` answers false for them, so a new run takes
 * the path a run from before them took (the replay test checks that path still replays). For before/after figures
 * from one benchmark run.
 * @param withheld - the changes to leave out
 * @returns the bundle
 */
export async function bundleWithout(withheld: readonly PatchId[]): Promise<WorkflowBundle> {
  const choice = join(tempDir('hitl-withheld-'), 'choice.ts');
  writeFileSync(choice, `export const WITHHELD: readonly string[] = ${JSON.stringify(withheld)};\n`);
  return bundleWorkflowCode({
    ...workflowBundleOptions,
    logger: quietBundlerLogger,
    webpackConfigHook: (config) => ({
      ...config,
      resolve: {
        ...config.resolve,
        alias: {
          ...config.resolve?.alias,
          [fileURLToPath(new URL('../workflows/patches.ts', import.meta.url))]: here('./withheld-patches.ts'),
          [here('./withheld-choice.ts')]: choice,
        },
      },
    }),
  });
}
