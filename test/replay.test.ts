import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import proto from '@temporalio/proto';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import { workflowsPath } from '../worker';
import { quietBundlerLogger, repoRoot, sharedEnv } from './support/env';

const historiesDir = join(repoRoot, 'test/histories');
const { History } = proto.temporal.api.history.v1;

/** Every recorded history (see scripts/record-histories.ts), named by its file. */
function recorded(): { workflowId: string; history: proto.temporal.api.history.v1.History }[] {
  return readdirSync(historiesDir)
    .filter((f) => f.endsWith('.pb'))
    .sort()
    .map((f) => ({ workflowId: basename(f, '.pb'), history: History.decode(readFileSync(join(historiesDir, f))) }));
}

/** Replays every recorded history on `bundle`; returns the failures as `name: message`. */
export async function replayAll(bundle: WorkflowBundle): Promise<string[]> {
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: bundle }, recorded())) {
    if (result.error !== undefined) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  return failures;
}

const patchesModule = join(repoRoot, 'workflows/patches.ts');
const unguardedModule = join(repoRoot, 'test/support/unguarded-patches.ts');

describe('replaying recorded histories', () => {
  it('replays every recorded run on the current workflow code without a determinism error', async () => {
    const histories = recorded();
    assert.ok(histories.length >= 15, `expected the recorded corpus in ${historiesDir}, found ${histories.length}`);
    const { bundle } = await sharedEnv();
    assert.deepEqual(await replayAll(bundle), []);
  });

  it('catches a workflow change made without its patched() guard: the recorded runs no longer replay', async () => {
    const unguarded = await bundleWorkflowCode({
      workflowsPath,
      logger: quietBundlerLogger,
      webpackConfigHook: (config) => ({
        ...config,
        resolve: { ...config.resolve, alias: { ...config.resolve?.alias, [patchesModule]: unguardedModule } },
      }),
    });
    const failures = await replayAll(unguarded);
    // Runs whose requests closed now schedule the closing notification where their history has the next step.
    assert.ok(
      failures.some((f) => f.startsWith('hard-approved:')),
      `expected hard-approved to fail; failures: ${failures.join('; ')}`,
    );
    assert.ok(
      failures.every((f) => /nondetermin/i.test(f)),
      failures.join('; '),
    );
    assert.ok(!failures.some((f) => f.startsWith('auto-and-auto-logged:')), 'a run without requests is unaffected');
  });
});
