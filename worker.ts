import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import { NativeConnection, Worker, type BundleOptions, type WorkerOptions } from '@temporalio/worker';
import type Database from 'better-sqlite3';
import { createBillingActivities } from './activities/billing/index';
import { openBillingDb } from './activities/billing/db';
import { createBillingPrechecks } from './activities/billing/prechecks';
import { createModelActivities } from './activities/model/index';
import { createMcpActivities, type McpFault } from './activities/mcp/index';
import { McpToolbox } from './src/node/mcp/toolbox';
import { resolveMcpSettings } from './src/node/mcp/settings';
import { openTranscriptStore, type TranscriptStore } from './src/node/transcript-store';
import { createRunSupportActivities } from './activities/run-support';
import { createAuditActivities } from './activities/audit-store';
import { withPrechecks } from './activities/precheck-first';
import { livenessHeartbeats } from './activities/liveness';
import { openAuditStore } from './src/node/audit/open-store';
import type { AuditStore } from './src/node/audit/sqlite-store';
import { connectionConfig, connectOptions, workerConfig } from './src/node/config';
import { ConfigError, HitlError } from './src/shared/errors';
import { precheckNames, toolNames } from './src/shared/tools/catalog';
import { logger } from './src/node/logger';
import { loadApproverRegistry } from './src/node/identity/registry-file';
import { loadStateKey } from './src/node/identity/state-key';
import { loadPolicyBook, type PolicyBook } from './src/node/policy-book';
import type { ApproverRegistry } from './src/shared/identity/signatures';
import { NotificationDispatcher } from './src/node/notify/dispatcher';
import { resolveNotifySettings } from './src/node/notify/settings';
import { ensureSearchAttributes } from './src/node/search-attributes';
import { encryptingDataConverter } from './src/node/codec/data-converter';
import { loadPayloadKeys, PAYLOAD_KEYS_ENV, type PayloadKeys } from './src/node/codec/payload-keys';
import { activityTelemetry } from './src/node/telemetry/activity-telemetry';
import { installRuntime, telemetrySettings, watchRunsWaiting } from './src/node/telemetry/runtime';
import { currentTracing, startTracing, workflowSpanSinks, type Tracing } from './src/node/telemetry/tracing';

/** Absolute path of the workflows entry point (the worker's `workflowsPath`). */
export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

/**
 * The workflow interceptor modules every workflow bundle includes (`bundleWorkflowCode`'s
 * `workflowInterceptorModules`): OpenTelemetry tracing. They add no commands; a worker without traces drops their
 * spans.
 */
export const workflowInterceptorModules: readonly string[] = [
  fileURLToPath(new URL('./workflows/telemetry.ts', import.meta.url)),
];

/**
 * What every workflow bundle of this worker is built with (`bundleWorkflowCode`'s options): the workflows and the
 * interceptor modules. Spread it, and add a logger or a webpack hook.
 *
 * `preloadModules`: modules every run shares instead of evaluating again when it enters the worker (with
 * `reuseV8Context` the SDK gives each run its own module instances): Ed25519 (`src/shared/identity/ed25519.ts`) and
 * zod (`src/shared/zod-config.ts`). Their code stays compiled and Ed25519's base-point tables are built once; a run
 * that replays into the worker costs about half of what it did (BENCHMARKS.md, "What a run costs to enter the
 * worker"). The SDK freezes what they export, so each sets what its library would otherwise write on first use. The
 * project's own schema modules are not preloaded: zod memoizes methods on schemas at first use (`Cannot define
 * property safeParse, object is not extensible`).
 */
export const workflowBundleOptions = {
  workflowsPath,
  workflowInterceptorModules: [...workflowInterceptorModules],
  preloadModules: [
    fileURLToPath(new URL('./src/shared/identity/ed25519.ts', import.meta.url)),
    fileURLToPath(new URL('./src/shared/zod-config.ts', import.meta.url)),
  ],
} satisfies Partial<BundleOptions>;

/** Options of {@link createWorker}. */
export interface CreateWorkerOptions {
  /** Connection to the Temporal server. */
  connection: NativeConnection;
  /** Namespace (default from `TEMPORAL_NAMESPACE`, else `default`). */
  namespace?: string;
  /** Task queue (default from `HITL_TASK_QUEUE`, else `hitl-agent`). */
  taskQueue?: string;
  /** The billing database the tools act on (default: {@link openBillingDb}'s choice). */
  billingDb?: Database.Database;
  /**
   * The policies runs may name (a run never brings its own). Default: the file or directory named by `HITL_POLICY`,
   * else the built-in default. Validated before the worker starts.
   */
  policies?: PolicyBook;
  /**
   * The approver registry: people's public keys (the worker holds no private key). Default: the file named by
   * `HITL_APPROVERS`, else none.
   */
  registry?: ApproverRegistry;
  /** The key that seals the state runs carry across continue-as-new. Default: {@link loadStateKey}'s choice. */
  stateKey?: Uint8Array;
  /** Take unsealed carried state (upgrades from before sealing only). Default: `HITL_ACCEPT_UNSEALED_STATE=1`. */
  acceptUnsealedState?: boolean;
  /** Model activity options, e.g. a base URL for an OpenAI-compatible server. */
  model?: Parameters<typeof createModelActivities>[0];
  /**
   * Where runs keep their conversations (default: `openTranscriptStore()`, i.e. `HITL_TRANSCRIPT_DB`, else
   * `.data/transcripts.sqlite`, opened when the worker is created).
   */
  transcripts?: TranscriptStore;
  /**
   * Where audit entries are kept beyond the workflow's history. Default: `openAuditStore()`, i.e. what
   * `HITL_AUDIT_DB` names (a SQLite file, or a `postgres://` URL, connected on first use), else `.data/audit.sqlite`.
   */
  auditStore?: AuditStore;
  /**
   * The keys payloads are encrypted with (`null`: plain payloads). Default: the file named by `HITL_PAYLOAD_KEYS`,
   * else plain. Clients need the same keys.
   */
  payloadKeys?: PayloadKeys | null;
  /**
   * A prebuilt workflow bundle (tests bundle once); default bundles {@link workflowsPath}. With payload keys, bundle
   * it with `failureConverterPath: encodedFailuresPath` so the workflow's failures are encoded too.
   */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /**
   * Delivers notifications on the operator's channels. Default: the settings file named by `HITL_NOTIFY`, else the
   * log line only. Its channels are built (and their secrets checked) when the worker is created.
   */
  notifications?: NotificationDispatcher;
  /**
   * The MCP servers and the tools they listed, connected by the caller (who closes it after the worker stops).
   * Default: the settings file named by `HITL_MCP`, connected here and closed when the worker stops; else none.
   */
  mcp?: McpToolbox;
  /** Fault injection for tests only: MCP tool name to where its activity's first attempt fails. */
  mcpFaults?: ReadonlyMap<string, McpFault>;
  /**
   * Where spans go: the process's tracing (default: what {@link startTracing} started, if anything; `null`: none).
   * Without it activities get no spans, and the workflows' spans are dropped.
   */
  tracing?: Tracing | null;
  /** Extra worker options; they win over the settings read from the environment (`workerConfig`). */
  extra?: Partial<WorkerOptions>;
}

/**
 * Creates a worker that runs agent runs: the `agentRun` workflow, the model activity and one activity per tool.
 *
 * @param options - see {@link CreateWorkerOptions}
 * @returns a worker; call `run()` (or `runUntil()` in tests)
 * @throws ConfigError when the billing database, the transcript store or the audit store cannot be opened (a
 *   PostgreSQL store's URL is malformed), or the policy file is invalid (the message names the file, the line and
 *   the key), or the notification settings are invalid or a channel's secret is unset. A PostgreSQL audit store that is down is not an error here: the runs hold their entries until it is
 *   back.
 * @example
 * const connection = await NativeConnection.connect({ address: '127.0.0.1:7233' });
 * const worker = await createWorker({ connection });
 * await worker.run();
 */
export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  const cfg = connectionConfig({
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    ...(options.taskQueue !== undefined ? { taskQueue: options.taskQueue } : {}),
  });
  const policies = options.policies ?? loadPolicyBook();
  const registry = options.registry ?? loadApproverRegistry();
  const stateKey = options.stateKey ?? loadStateKey();
  const db = options.billingDb ?? openBillingDb();
  const transcripts = options.transcripts ?? options.model?.transcripts ?? openTranscriptStore();
  const auditStore = options.auditStore ?? openAuditStore();
  const mcpSettings = options.mcp === undefined ? resolveMcpSettings() : undefined;
  const mcp = options.mcp ?? (mcpSettings !== undefined ? await McpToolbox.connect(mcpSettings.settings) : undefined);
  const mcpTools = mcp?.definitions ?? [];
  const prechecks = createBillingPrechecks(db);
  const activities = {
    ...createAuditActivities(auditStore),
    ...createModelActivities({ ...options.model, transcripts, extraTools: mcpTools }),
    ...withPrechecks(createBillingActivities(db), prechecks),
    ...prechecks,
    ...(mcp !== undefined ? createMcpActivities(mcp, db, options.mcpFaults ? { faults: options.mcpFaults } : {}) : {}),
    ...createRunSupportActivities({
      policies,
      registry,
      stateKey,
      mcpTools,
      acceptUnsealed: options.acceptUnsealedState ?? process.env['HITL_ACCEPT_UNSEALED_STATE'] === '1',
      dispatcher: options.notifications ?? new NotificationDispatcher(resolveNotifySettings().settings),
    }),
  };
  requireActivities(activities);
  const keys = options.payloadKeys === null ? undefined : (options.payloadKeys ?? loadPayloadKeys());
  const dataConverter = encryptingDataConverter(keys);
  const tracing = options.tracing === null ? undefined : (options.tracing ?? currentTracing());
  const worker = await Worker.create({
    connection: options.connection,
    namespace: cfg.namespace,
    taskQueue: cfg.taskQueue,
    activities,
    ...(dataConverter !== undefined ? { dataConverter } : {}),
    ...workerConfig(),
    ...(options.workflowBundle !== undefined ? { workflowBundle: options.workflowBundle } : { workflowsPath }),
    sinks: workflowSpanSinks(tracing),
    ...options.extra,
    interceptors: {
      ...options.extra?.interceptors,
      // A prebuilt bundle has these modules already (bundle with workflowBundleOptions).
      ...(options.workflowBundle === undefined ? { workflowModules: [...workflowInterceptorModules] } : {}),
      // Liveness heartbeats outermost, so a dead worker is noticed however the others behave; then Temporal's span, so
      // the project's telemetry interceptor runs inside it and can put attributes on it; then the caller's.
      activity: [
        livenessHeartbeats,
        ...(tracing !== undefined
          ? [
              (ctx: Parameters<typeof activityTelemetry>[0]) => ({
                inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
                outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
              }),
            ]
          : []),
        activityTelemetry,
        ...(options.extra?.interceptors?.activity ?? []),
      ],
    },
  });
  if (options.mcp === undefined && mcp !== undefined) {
    // The toolbox was connected here, so it closes with the worker (runUntil goes through run too).
    const run = worker.run.bind(worker);
    worker.run = async () => {
      try {
        await run();
      } finally {
        await mcp.close();
      }
    };
  }
  if (mcpTools.length > 0) {
    logger.info(
      { mcpTools: mcpTools.map((d) => `${d.name} sha256 ${d.sha256}`) },
      `listed ${mcpTools.length} MCP tool(s)${mcpSettings !== undefined ? ` from ${mcpSettings.source}` : ''}`,
    );
  }
  return worker;
}

/** Every activity type the workflow schedules: the catalog's tools and prechecks, the model and run support. */
export const REQUIRED_ACTIVITIES: readonly string[] = [
  ...toolNames,
  ...precheckNames,
  'callModel',
  'storeMessages',
  'runAuthority',
  'approverRegistry',
  'sealState',
  'openState',
  'notify',
  'storeAuditRecords',
];

/**
 * Checks that a worker registers every activity type its workflows schedule, so a misnamed or missing precheck or
 * tool stops the worker at its start instead of failing every approval at run time.
 * @param activities - the activities the worker would register, keyed by activity type
 * @throws ConfigError naming each missing activity type
 */
export function requireActivities(activities: Readonly<Record<string, unknown>>): void {
  const missing = REQUIRED_ACTIVITIES.filter((name) => typeof activities[name] !== 'function');
  if (missing.length > 0) {
    throw new ConfigError(`the worker registers no activity for ${missing.join(', ')} (the workflow schedules them)`);
  }
}

async function main(): Promise<void> {
  // The SDK's own lines (workers starting, tasks failing, its core's messages) go through the project's logger at
  // HITL_LOG_LEVEL; with HITL_METRICS_PORT the runtime serves Prometheus metrics (the SDK's and the project's).
  const telemetry = telemetrySettings();
  installRuntime(telemetry);
  // Traces when the OTEL_* variables name an OTLP endpoint (see docs/operations.md).
  const tracing = startTracing();
  const cfg = connectionConfig();
  // Load and validate the policies and the approver registry before anything else, so a bad file stops the worker
  // with its line and key. `--policy FILE|DIR` wins over HITL_POLICY (else the built-in default); `--approvers FILE`
  // over HITL_APPROVERS (else nobody can sign).
  const { values } = parseArgs({
    options: {
      policy: { type: 'string' },
      approvers: { type: 'string' },
      notify: { type: 'string' },
      mcp: { type: 'string' },
    },
    strict: true,
  });
  const policies = loadPolicyBook(values.policy);
  const registry = loadApproverRegistry(values.approvers);
  // `--notify FILE` over HITL_NOTIFY, else the log line only.
  const notify = resolveNotifySettings(values.notify !== undefined ? { path: values.notify } : {});
  const notifications = new NotificationDispatcher(notify.settings);
  const payloadKeys = loadPayloadKeys() ?? null;
  if (payloadKeys === null) {
    logger.warn(
      `payloads are not encrypted: goals, arguments and decisions are stored in plain text in Temporal's history ` +
        `(set ${PAYLOAD_KEYS_ENV} to a key file made with \`hitl payload-keys add\`)`,
    );
  }
  // `--mcp FILE` over HITL_MCP, else no MCP tools. The servers are started and listed before the worker polls.
  const mcpSettings = resolveMcpSettings(values.mcp !== undefined ? { path: values.mcp } : {});
  const mcp = mcpSettings !== undefined ? await McpToolbox.connect(mcpSettings.settings) : undefined;
  const auditStore = openAuditStore();
  // Address, TLS (client certificate, CA, server name), API key and headers: from Temporal's environment configuration
  // (a temporal.toml profile, TEMPORAL_* variables), as the `temporal` CLI reads them.
  const connection = await NativeConnection.connect(connectOptions(cfg));
  const registered = await ensureSearchAttributes(connection, cfg.namespace);
  if (registered.length > 0) logger.info({ registered }, 'registered missing search attributes');
  const worker = await createWorker({
    connection,
    policies,
    registry,
    payloadKeys,
    auditStore,
    notifications,
    mcp: mcp ?? McpToolbox.empty(),
    tracing: tracing ?? null,
  });
  const stopWatching =
    telemetry.metrics !== undefined
      ? watchRunsWaiting({
          connection,
          namespace: cfg.namespace,
          taskQueue: cfg.taskQueue,
          intervalMs: telemetry.metrics.pollMs,
        })
      : () => undefined;
  logger.info(
    {
      address: cfg.address,
      tls: cfg.tls !== undefined && cfg.tls !== false ? 'on' : 'off',
      namespace: cfg.namespace,
      taskQueue: cfg.taskQueue,
      policies: policies.list().map((p) => `${p.name} (version ${p.policy.version}, sha256 ${p.sha256.slice(0, 12)})`),
      approvers: `${registry.keys.length} key(s) from ${registry.source}, sha256 ${registry.sha256.slice(0, 12)}`,
      payloads:
        payloadKeys !== null
          ? `encrypted with key ${payloadKeys.current} (${payloadKeys.keys.size} key(s) from ${payloadKeys.source})`
          : 'plain',
      auditStore: auditStore.location,
      notifications: `${Object.keys(notify.settings.channels).join(', ') || 'log only'} (from ${notify.source})`,
      metrics:
        telemetry.metrics !== undefined ? `http://${telemetry.metrics.host}:${telemetry.metrics.port}/metrics` : 'off',
      traces: tracing !== undefined ? 'OTLP (OTEL_* variables)' : 'off',
    },
    'worker started',
  );
  // Worker.run() resolves after a graceful shutdown, which the SDK starts on SIGINT and SIGTERM: no new tasks, and
  // in-flight activities get HITL_SHUTDOWN_GRACE_MS to finish before they are cancelled.
  await worker.run();
  stopWatching();
  await tracing?.shutdown();
  await mcp?.close();
  await connection.close();
  await auditStore.close();
  await notifications.close();
  logger.info('worker stopped');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    if (err instanceof HitlError) logger.error(err.message);
    else logger.error({ err }, 'worker failed');
    // Exit now: the runtime's log forwarding keeps the event loop alive until a worker registered with it shuts down,
    // and a worker that failed to start never did (the logger writes synchronously, so nothing is lost).
    process.exit(1);
  });
}
