import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, type NativeConnection, type Worker, type WorkflowBundle } from '@temporalio/worker';
import { nanoid } from 'nanoid';
import { generateBillingDb, openBillingDb, type BillingDb } from '../../activities/billing/index';
import { openTranscriptStore, type TranscriptStore } from '../../src/node/transcript-store';
import { pendingApprovals, startAgentRun } from '../../client';
import type { ModelActivitiesOptions } from '../../activities/model/index';
import type { ScenarioTurn } from '../../src/shared/model/types';
import { DEFAULT_POLICY } from '../../src/shared/policy/default-policy';
import type { Policy } from '../../src/shared/policy/schema';
import type { AgentRunInputDraft } from '../../src/shared/run-input';
import type { ApprovalRequest } from '../../src/shared/run-state';
import { createWorker, workflowBundleOptions } from '../../worker';
import type { McpFault } from '../../activities/mcp/index';
import { McpToolbox } from '../../src/node/mcp/toolbox';
import { encodedFailuresPath, encryptingDataConverter } from '../../src/node/codec/data-converter';
import type { PayloadKeys } from '../../src/node/codec/payload-keys';
import { PolicyBook, pinOf } from '../../src/node/policy-book';
import type { NotificationDispatcher } from '../../src/node/notify/dispatcher';
import { openSqliteAuditStore, type AuditStore } from '../../src/node/audit/sqlite-store';
import type { ApproverRegistry } from '../../src/shared/identity/signatures';
import { hasTestKey, TEST_REGISTRY, TEST_STATE_KEY, testKey } from './keys';
import { quietBundlerLogger, sharedBundle, sharedEnv, tempDir, waitFor } from './env';

/** A billing database in a temp directory, generated with the default seed. */
export function freshBillingDb(): { db: BillingDb; path: string } {
  const path = join(tempDir('hitl-billing-'), 'billing.sqlite');
  generateBillingDb(path, { customers: 20, invoices: 60 });
  return { db: openBillingDb(path), path };
}

let transcripts: { store: TranscriptStore; path: string } | undefined;

function openShared(): { store: TranscriptStore; path: string } {
  const path = join(tempDir('hitl-transcripts-'), 'transcripts.sqlite');
  return { store: openTranscriptStore(path), path };
}

/**
 * The transcript store of this test process: one SQLite file in a temp directory, shared by every worker the tests
 * start, as workers on one host share theirs (a worker restarted in a test finds the conversations it left).
 */
export function sharedTranscripts(): TranscriptStore {
  transcripts ??= openShared();
  return transcripts.store;
}

let audit: { store: AuditStore; path: string } | undefined;

/**
 * The audit store of this test process: one SQLite file in a temp directory, shared by every worker the tests start
 * (unless a test gives its own), as workers on one host share theirs.
 */
export function sharedAuditStore(): { store: AuditStore; path: string } {
  if (audit === undefined) {
    const path = join(tempDir('hitl-audit-'), 'audit.sqlite');
    audit = { store: openSqliteAuditStore(path), path };
  }
  return audit;
}

/** The file of {@link sharedTranscripts}. */
export function sharedTranscriptsPath(): string {
  transcripts ??= openShared();
  return transcripts.path;
}

/** What a test gets inside {@link withWorker}. */
export interface Harness {
  client: Client;
  taskQueue: string;
  db: BillingDb;
  dbPath: string;
  worker: Worker;
  /** Starts a run whose scripted model replays `turns`. */
  startScripted(
    turns: ScenarioTurn[],
    overrides?: StartOverrides,
  ): Promise<{ workflowId: string; result: () => Promise<unknown> }>;
  /** The worker's policies: a test adds its own variants (a run names one; it never carries one). */
  policies: PolicyBook;
  /** Offers a policy on the worker (named by its version) and returns the name a run gives to use it. */
  usePolicy(policy: Policy): string;
  /** Waits until the run has exactly `count` pending requests and returns them. */
  pending(workflowId: string, count?: number): Promise<ApprovalRequest[]>;
}

/**
 * What a test changes in a run's input. `policy` may be a whole policy: the harness adds it to the worker's policies
 * (named by its version) and the run names it, as an operator's worker would offer it. `unsigned` starts the run
 * without the requester's signature.
 */
export type StartOverrides = Omit<Partial<AgentRunInputDraft>, 'policy'> & {
  policy?: Policy | string;
  unsigned?: boolean;
};

/** Options of {@link withWorker}. */
export interface WithWorkerOptions {
  taskQueue?: string;
  /** The worker's default policy (default: the built-in default policy). */
  policy?: { policy: Policy; source: string };
  /** The approver registry (default: the test people's keys, {@link TEST_REGISTRY}). */
  registry?: ApproverRegistry;
  billing?: { db: BillingDb; path: string };
  /** The audit store (default: {@link sharedAuditStore}). */
  auditStore?: AuditStore;
  model?: ModelActivitiesOptions;
  /**
   * Encrypt payloads with these keys: the worker (with a bundle whose failures are encoded) and the harness's client
   * both use them. Default: plain payloads.
   */
  payloadKeys?: PayloadKeys;
  /** Delivers the worker's notifications (default: the log line only). */
  notifications?: NotificationDispatcher;
  /** The worker's MCP servers (default: none; the test closes it). */
  mcp?: McpToolbox;
  /** Where MCP tool activities fail on their first attempt (fault injection). */
  mcpFaults?: ReadonlyMap<string, McpFault>;
  /** Another server than the shared one (benchmarks comparing server settings): the worker's and the client's connections. */
  server?: { nativeConnection: NativeConnection; client: Client };
  /** Another workflow bundle than the shared one (benchmarks comparing workflow code). */
  bundle?: WorkflowBundle;
}

let encryptedBundle: Promise<WorkflowBundle> | undefined;

/** The workflow bundle of workers that encrypt payloads (its failure converter encodes messages), built once. */
function encodedFailuresBundle(): Promise<WorkflowBundle> {
  encryptedBundle ??= bundleWorkflowCode({
    ...workflowBundleOptions,
    failureConverterPath: encodedFailuresPath,
    logger: quietBundlerLogger,
  });
  return encryptedBundle;
}

/**
 * Runs `fn` while a real worker (shared dev server, shared bundle) polls a task queue of its own, on a billing
 * database of its own. The worker shuts down when `fn` settles.
 */
export async function withWorker<T>(fn: (h: Harness) => Promise<T>, options: WithWorkerOptions = {}): Promise<T> {
  const shared = options.server === undefined ? await sharedEnv() : undefined;
  const server = options.server ?? shared?.env;
  if (server === undefined) throw new Error('no server to run the worker against');
  const bundle = options.bundle ?? shared?.bundle ?? (await sharedBundle());
  const taskQueue = options.taskQueue ?? `test-${nanoid(8)}`;
  const billing = options.billing ?? freshBillingDb();
  const base = options.policy ?? { policy: DEFAULT_POLICY, source: 'built-in default' };
  const policies = PolicyBook.of(base.policy, base.source);
  const worker = await createWorker({
    connection: server.nativeConnection,
    taskQueue,
    billingDb: billing.db,
    workflowBundle: options.payloadKeys !== undefined ? await encodedFailuresBundle() : bundle,
    payloadKeys: options.payloadKeys ?? null,
    transcripts: options.model?.transcripts ?? sharedTranscripts(),
    auditStore: options.auditStore ?? sharedAuditStore().store,
    ...(options.model !== undefined ? { model: options.model } : {}),
    policies,
    registry: options.registry ?? TEST_REGISTRY,
    stateKey: TEST_STATE_KEY,
    ...(options.notifications !== undefined ? { notifications: options.notifications } : {}),
    mcp: options.mcp ?? McpToolbox.empty(),
    ...(options.mcpFaults !== undefined ? { mcpFaults: options.mcpFaults } : {}),
  });
  const dataConverter = encryptingDataConverter(options.payloadKeys);
  const client =
    dataConverter !== undefined
      ? new Client({ connection: server.client.connection, namespace: server.client.options.namespace, dataConverter })
      : server.client;
  const harness: Harness = {
    client,
    taskQueue,
    db: billing.db,
    dbPath: billing.path,
    worker,
    policies,
    usePolicy(policy) {
      policies.add(pinOf(policy.version, policy, 'test'));
      return policy.version;
    },
    async startScripted(turns, overrides = {}) {
      const { policy, unsigned, ...rest } = overrides;
      if (typeof policy === 'object') policies.add(pinOf(policy.version, policy, 'test'));
      const requestedBy = rest.requestedBy ?? 'tester';
      const { workflowId, handle } = await startAgentRun(
        client,
        {
          goal: 'test goal',
          requestedBy,
          model: { provider: 'scripted', scenario: { goal: 'test goal', turns } },
          ...rest,
          ...(policy !== undefined ? { policy: typeof policy === 'object' ? policy.version : policy } : {}),
        },
        { taskQueue, ...(unsigned !== true && hasTestKey(requestedBy) ? { key: testKey(requestedBy) } : {}) },
      );
      return { workflowId, result: () => handle.result() };
    },
    pending: (workflowId, count = 1) =>
      waitFor(async () => {
        const p = await pendingApprovals(client, workflowId);
        return p.length === count ? p : undefined;
      }, `${count} pending request(s) on ${workflowId}`),
  };
  return worker.runUntil(fn(harness));
}

/** A scripted turn that calls one tool. */
export function call(name: string, args: Record<string, unknown> | string, content?: string): ScenarioTurn {
  return { ...(content !== undefined ? { content } : {}), toolCalls: [{ name, arguments: args }] };
}

/** A scripted final answer. */
export function answer(content: string): ScenarioTurn {
  return { content };
}
