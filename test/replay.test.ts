import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import proto from '@temporalio/proto';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import { workflowBundleOptions } from '../worker';
import { workflowSpanSinks } from '../src/node/telemetry/tracing';
import { PATCHES, type PatchId } from '../workflows/patch-ids';
import { quietBundlerLogger, repoRoot, sharedEnv, tempDir } from './support/env';

const historiesDir = join(repoRoot, 'test/histories');
const { History } = proto.temporal.api.history.v1;

/**
 * Every recorded history (see scripts/record-histories.ts), named by its file, with the workflow id it ran under
 * (from test/histories/workflow-ids.json; recordings from before the runs checked their own id use the file name).
 */
function recorded(): { name: string; workflowId: string; history: proto.temporal.api.history.v1.History }[] {
  const idsFile = join(historiesDir, 'workflow-ids.json');
  const ids = existsSync(idsFile) ? (JSON.parse(readFileSync(idsFile, 'utf8')) as Record<string, string>) : {};
  return readdirSync(historiesDir)
    .filter((f) => f.endsWith('.pb') || f.endsWith('.pb.gz'))
    .sort()
    .map((f) => {
      const gzipped = f.endsWith('.gz');
      const name = basename(f, gzipped ? '.pb.gz' : '.pb');
      const bytes = readFileSync(join(historiesDir, f));
      return { name, workflowId: ids[name] ?? name, history: History.decode(gzipped ? gunzipSync(bytes) : bytes) };
    });
}

/** Replays every recorded history on `bundle`; returns the failures as `name: message`. */
export async function replayAll(bundle: WorkflowBundle): Promise<string[]> {
  const failures: string[] = [];
  const histories = recorded();
  // Results come back in the order the histories went in; segments of one run share its workflow id.
  let i = 0;
  const replays = histories.map(({ workflowId, history }) => ({ workflowId, history }));
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: bundle, sinks: workflowSpanSinks(undefined) },
    replays,
  )) {
    const name = histories[i]?.name ?? result.workflowId;
    i += 1;
    if (result.error !== undefined) failures.push(`${name}: ${result.error.message}`);
  }
  return failures;
}

const patchesModule = join(repoRoot, 'workflows/patches.ts');
const unguardedModule = join(repoRoot, 'test/support/unguarded-patches.ts');
const choiceModule = join(repoRoot, 'test/support/unguarded-choice.ts');

/** The workflows bundled with one change (or `*`: every change) taken without its `patched()` guard. */
async function bundleUnguarded(patchId: string): Promise<WorkflowBundle> {
  const choice = join(tempDir('hitl-unguarded-'), 'choice.ts');
  writeFileSync(choice, `export const UNGUARDED: string = ${JSON.stringify(patchId)};\n`);
  return bundleWorkflowCode({
    ...workflowBundleOptions,
    logger: quietBundlerLogger,
    webpackConfigHook: (config) => ({
      ...config,
      resolve: {
        ...config.resolve,
        alias: { ...config.resolve?.alias, [patchesModule]: unguardedModule, [choiceModule]: choice },
      },
    }),
  });
}

/** For each guarded change: a recorded run it breaks when unguarded, and one it leaves alone (if any). */
const GUARD_PROOFS: Record<PatchId, { breaks: string; spares?: string }> = {
  // Runs whose requests closed now schedule the closing notification where their history has the next step.
  [PATCHES.notifyDecidersOnClosure]: { breaks: 'hard-approved', spares: 'auto-and-auto-logged' },
  // Every run recorded before it wrote AgentStatus=Running again in its first task.
  [PATCHES.statusFromCurrentValue]: { breaks: 'auto-and-auto-logged' },
  // A run that carried a 300 KB result across continue-as-new now stores it first, where its history continued.
  [PATCHES.storeLargeCarry]: { breaks: 'large-result-carried-mid-turn.1', spares: 'continued-as-new-mid-turn.1' },
  // Every run pinned its policy with currentPolicy (or from its input); now runAuthority, and no input policy.
  [PATCHES.workerOwnedAuthority]: { breaks: 'parallel-calls-decided-in-reverse' },
  // Runs that opened a request now read the registry and resolve the call's effect first.
  [PATCHES.requestAuthority]: { breaks: 'hard-approved', spares: 'auto-and-auto-logged' },
  // An edit into a quorum of two now rebuilds the request: its deadline timer starts again.
  [PATCHES.rebuildOnEdit]: { breaks: 'edited-into-a-quorum', spares: 'hard-approved' },
  // Keys no longer draw uuid4(): a request opened after a planned step got another id than its recorded decision names.
  [PATCHES.derivedIdempotencyKeys]: { breaks: 'plan-review', spares: 'hard-approved' },
  // Refused 1.5 MB signals: the run continued as new when Temporal suggested it (past 4 MB); now already past 2 MiB.
  [PATCHES.continueOnHistorySize]: { breaks: 'large-signals-while-waiting.1', spares: 'hard-approved' },
  // Writing the audit store schedules an activity after each entry: any run recorded before it breaks.
  [PATCHES.auditStore]: { breaks: 'hard-approved' },
  // The gate went on past the request's notification before its activity answered, where the history waits for it.
  [PATCHES.notificationsAside]: { breaks: 'quorum-of-two', spares: 'auto-and-auto-logged' },
  // A run whose request opened now writes the waiting search attributes there, where its history has none.
  [PATCHES.waitingSearchAttributes]: { breaks: 'hard-approved', spares: 'auto-and-auto-logged' },
  // An approved refund scheduled its precheck activity first, where the tool's activity now comes straight away.
  [PATCHES.precheckInTool]: { breaks: 'hard-approved', spares: 'auto-and-auto-logged' },
  // Audit records went to the store after every entry, where a busy run now keeps them until it is quiet.
  [PATCHES.auditWhenQuiet]: { breaks: 'hard-approved.after-precheck-in-tool', spares: 'hard-approved' },
  // An auto read (find_customers, get_invoice) was an activity task, where it now runs as a local activity.
  [PATCHES.readOnlyLocal]: { breaks: 'auto-and-auto-logged', spares: 'hard-approved' },
};

describe('replaying recorded histories', () => {
  it('replays every recorded run on the current workflow code without a determinism error', async () => {
    const histories = recorded();
    assert.ok(histories.length >= 15, `expected the recorded corpus in ${historiesDir}, found ${histories.length}`);
    const { bundle } = await sharedEnv();
    assert.deepEqual(await replayAll(bundle), []);
  });

  for (const [patchId, proof] of Object.entries(GUARD_PROOFS)) {
    it(`catches the change "${patchId}" made without its patched() guard: recorded runs no longer replay`, async () => {
      const failures = await replayAll(await bundleUnguarded(patchId));
      assert.ok(
        failures.some((f) => f.startsWith(`${proof.breaks}:`)),
        `expected ${proof.breaks} to fail; failures: ${failures.join('; ')}`,
      );
      assert.ok(
        failures.every((f) => /nondetermin/i.test(f)),
        failures.join('; '),
      );
      if (proof.spares !== undefined) {
        assert.ok(!failures.some((f) => f.startsWith(`${proof.spares}:`)), `${proof.spares} is unaffected`);
      }
    });
  }

  it('loads Ed25519 and zod once for every run to share: webpack kept both preloads in the bundle', async () => {
    const { bundle } = await sharedEnv();
    // webpack drops a preloaded module it judges free of side effects (a bare @noble/curves import becomes `0;`), and
    // every run would then evaluate it again; the replay above runs all recorded histories on these shared instances.
    const preload = /exports\.preloadModules = function preloadModules\(\) \{([^}]*)\}/.exec(bundle.code)?.[1] ?? '';
    for (const module of ['./src/shared/identity/ed25519.ts', './src/shared/zod-config.ts']) {
      assert.match(preload, new RegExp(`__webpack_require__\\([^)]*"${module.replace(/[.]/g, '\\.')}"\\)`), module);
    }
  });

  it('has a proof for every guarded change', () => {
    assert.deepEqual(Object.keys(GUARD_PROOFS).sort(), Object.values(PATCHES).sort());
  });
});
