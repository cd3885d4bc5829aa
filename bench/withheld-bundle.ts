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
 * @param opts - `shareModules: false` also leaves out the worker's `preloadModules` (every run evaluates Ed25519
 *   and zod itself, as before they were shared); default true
 * @returns the bundle
 */
export async function bundleWithout(
  withheld: readonly PatchId[],
  opts: { shareModules?: boolean } = {},
): Promise<WorkflowBundle> {
  const choice = join(tempDir('hitl-withheld-'), 'choice.ts');
  writeFileSync(choice, `export const WITHHELD: readonly string[] = ${JSON.stringify(withheld)};\n`);
  const { preloadModules, ...unshared } = workflowBundleOptions;
  return bundleWorkflowCode({
    ...unshared,
    ...(opts.shareModules === false ? {} : { preloadModules }),
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
