import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectionConfig, DEFAULT_SHUTDOWN_GRACE_MS, workerConfig } from '../src/node/config';
import { ConfigError } from '../src/shared/errors';
import { createBillingActivities } from '../activities/billing/index';
import { createBillingPrechecks } from '../activities/billing/prechecks';
import { createModelActivities } from '../activities/model/index';
import { createAuditActivities } from '../activities/audit-store';
import { openSqliteAuditStore } from '../src/node/audit/sqlite-store';
import { createRunSupportActivities } from '../activities/run-support';
import { openTranscriptStore } from '../src/node/transcript-store';
import { DEFAULT_POLICY } from '../src/shared/policy/default-policy';
import { requireActivities } from '../worker';
import { PolicyBook } from '../src/node/policy-book';
import { EMPTY_REGISTRY } from '../src/shared/identity/signatures';
import { freshBillingDb } from './support/harness';

describe('configuration', () => {
  it('takes explicit connection values, then the environment, then the defaults', () => {
    assert.deepEqual(connectionConfig({}, {}), {
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'hitl-agent',
    });
    const env = { TEMPORAL_ADDRESS: 'temporal:7233', HITL_TASK_QUEUE: 'billing' };
    assert.deepEqual(connectionConfig({ taskQueue: 'mine' }, env), {
      address: 'temporal:7233',
      namespace: 'default',
      taskQueue: 'mine',
    });
    assert.throws(() => connectionConfig({}, { TEMPORAL_NAMESPACE: '  ' }), ConfigError);
  });

  it('leaves the workflow cache to the SDK unless HITL_MAX_CACHED_WORKFLOWS sets it, and refuses what is no count', () => {
    const grace = { shutdownGraceTime: DEFAULT_SHUTDOWN_GRACE_MS };
    assert.deepEqual(workerConfig({}, {}), grace);
    assert.deepEqual(workerConfig({}, { HITL_MAX_CACHED_WORKFLOWS: '' }), grace);
    assert.deepEqual(workerConfig({}, { HITL_MAX_CACHED_WORKFLOWS: '200' }), { maxCachedWorkflows: 200, ...grace });
    assert.deepEqual(workerConfig({ maxCachedWorkflows: 5 }, { HITL_MAX_CACHED_WORKFLOWS: '200' }), {
      maxCachedWorkflows: 5,
      ...grace,
    });
    for (const bad of ['many', '-1', '2.5']) {
      assert.throws(
        () => workerConfig({}, { HITL_MAX_CACHED_WORKFLOWS: bad }),
        (err: unknown) => err instanceof ConfigError && /HITL_MAX_CACHED_WORKFLOWS/.test(err.message),
      );
    }
  });

  it('reads the task slots and the shutdown grace from the environment, and refuses slots the SDK cannot use', () => {
    const env = { HITL_MAX_ACTIVITY_SLOTS: '8', HITL_MAX_WORKFLOW_TASK_SLOTS: '4', HITL_SHUTDOWN_GRACE_MS: '5000' };
    assert.deepEqual(workerConfig({}, env), {
      maxConcurrentActivityTaskExecutions: 8,
      maxConcurrentWorkflowTaskExecutions: 4,
      shutdownGraceTime: 5000,
    });
    assert.equal(workerConfig({ shutdownGraceTime: 0 }, env).shutdownGraceTime, 0);
    for (const [name, bad] of [
      ['HITL_MAX_ACTIVITY_SLOTS', '0'],
      ['HITL_MAX_WORKFLOW_TASK_SLOTS', '1'],
      ['HITL_SHUTDOWN_GRACE_MS', 'soon'],
    ] as const) {
      assert.throws(
        () => workerConfig({}, { [name]: bad }),
        (err: unknown) => err instanceof ConfigError && err.message.includes(name),
      );
    }
  });

  it('reads the sticky queue timeout from the environment and refuses one below 100 ms', () => {
    assert.equal(workerConfig({}, {}).stickyQueueScheduleToStartTimeout, undefined, "the SDK's default");
    assert.equal(workerConfig({}, { HITL_STICKY_TIMEOUT_MS: '3000' }).stickyQueueScheduleToStartTimeout, 3000);
    assert.equal(
      workerConfig({ stickyQueueScheduleToStartTimeout: 2000 }, { HITL_STICKY_TIMEOUT_MS: '3000' })
        .stickyQueueScheduleToStartTimeout,
      2000,
    );
    for (const bad of ['50', 'soon', '-1']) {
      assert.throws(
        () => workerConfig({}, { HITL_STICKY_TIMEOUT_MS: bad }),
        (err: unknown) => err instanceof ConfigError && err.message.includes('HITL_STICKY_TIMEOUT_MS'),
      );
    }
  });

  it('reads the workflow threads from the environment and refuses none or more than 16', () => {
    assert.equal(workerConfig({}, {}).workflowThreadPoolSize, undefined, "the SDK's default");
    assert.equal(workerConfig({}, { HITL_WORKFLOW_THREADS: '2' }).workflowThreadPoolSize, 2);
    assert.equal(workerConfig({ workflowThreadPoolSize: 3 }, { HITL_WORKFLOW_THREADS: '2' }).workflowThreadPoolSize, 3);
    for (const bad of ['0', '17', 'two', '1.5']) {
      assert.throws(
        () => workerConfig({}, { HITL_WORKFLOW_THREADS: bad }),
        (err: unknown) => err instanceof ConfigError && err.message.includes('HITL_WORKFLOW_THREADS'),
      );
    }
  });

  it('refuses to start a worker that lacks an activity its workflows schedule, naming it', async () => {
    const { db } = freshBillingDb();
    const transcripts = openTranscriptStore(':memory:');
    const audit = openSqliteAuditStore(':memory:');
    const all = {
      ...createModelActivities({ transcripts }),
      ...createBillingActivities(db),
      ...createBillingPrechecks(db),
      ...createRunSupportActivities({
        policies: PolicyBook.of(DEFAULT_POLICY, 'built-in default'),
        registry: EMPTY_REGISTRY,
        stateKey: new Uint8Array(32),
      }),
      ...createAuditActivities(audit),
    };
    assert.doesNotThrow(() => requireActivities(all));
    const withoutPrecheck: Record<string, unknown> = { ...all };
    delete withoutPrecheck['precheck_issue_refund'];
    assert.throws(() => requireActivities(withoutPrecheck), /no activity for precheck_issue_refund/);
    db.close();
    transcripts.close();
    await audit.close();
  });
});
