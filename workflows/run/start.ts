import { ActivityFailure, ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { RunActivities } from '../../src/shared/activity-types';
import { FailureType } from '../../src/shared/errors';
import { valueHash } from '../../src/shared/identity/signatures';
import { startStatement } from '../../src/shared/identity/statements';
import { policyHash } from '../../src/shared/policy/pin';
import { mcpDefinitionHash, mcpToolName } from '../../src/shared/tools/mcp';
import type { WorkflowRunInput } from '../../src/shared/run-input';
import type { RunAuthority } from './authority';
import type { CarriedState } from './continuation';
import type { InFlight } from './in-flight';

const { currentPolicy, runAuthority, sealState, openState } = proxyActivities<RunActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/**
 * Pins a new run's authority: one of the worker's policies (the one the input names, else the worker's default), the
 * approver registry, and the requester, verified when the start is signed (required where the policy says so).
 * @param input - the validated run input
 * @param authority - the run's authority, to pin
 * @param proving - whether the run takes the worker-owned path (every run started since 2026-12-01)
 * @returns the policy and registry in words, for the `run_started` audit entry
 * @throws ApplicationFailure `UnknownPolicy` when the worker has no such policy; `InvalidRunInput` when the start's
 *   signature is missing (and required) or does not verify
 */
export async function pinAtStart(input: WorkflowRunInput, authority: RunAuthority, proving: boolean): Promise<string> {
  if (typeof input.policy === 'object') {
    // A run from before 2026-12-01 that carried its policy (the entry refuses that for every newer run).
    authority.pin({ policy: input.policy, source: 'run input' });
    return `policy ${input.policy.version} from run input`;
  }
  if (!proving) {
    const loaded = await currentPolicy();
    authority.pin(loaded);
    return `policy ${loaded.policy.version} from ${loaded.source}`;
  }
  let pinned;
  try {
    pinned = await runAuthority(input.policy !== undefined ? { policy: input.policy } : {});
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
      throw ApplicationFailure.nonRetryable(err.cause.message, err.cause.type ?? FailureType.UnknownPolicy);
    }
    throw err;
  }
  const { policy: pin, registry } = pinned;
  if (policyHash(pin.policy) !== pin.sha256) {
    throw ApplicationFailure.nonRetryable(`policy ${pin.name} does not match its SHA-256`, FailureType.UnknownPolicy);
  }
  authority.pin(pin, registry);
  const mcp = pinned.mcpTools ?? [];
  for (const def of mcp) {
    // The gate reads the hash: the run computes it from the definition itself, never takes the worker's word for it.
    if (mcpDefinitionHash(def) !== def.sha256 || def.name !== mcpToolName(def.server, def.tool)) {
      throw ApplicationFailure.nonRetryable(
        `MCP tool ${def.name} does not match its definition's SHA-256`,
        FailureType.UnknownPolicy,
      );
    }
  }
  authority.useMcpTools(mcp);
  const start = authority.accept(input.requestedBy, input.signature, startStatement(input), 'start');
  if (!start.ok) throw ApplicationFailure.nonRetryable(start.reason, FailureType.InvalidRunInput);
  authority.setRequester(start.accepted.subject);
  return (
    `policy ${pin.name} (version ${pin.policy.version}, sha256 ${pin.sha256}) from ${pin.source}; ` +
    `approver registry: ${registry.keys.length} key(s), sha256 ${registry.sha256.slice(0, 16)}…; ` +
    `requested by ${start.accepted.label}${start.accepted.signed ? ' (signed)' : ' (unsigned)'}` +
    (mcp.length > 0 ? `; MCP tools: ${mcp.map((d) => `${d.name} (sha256 ${d.sha256.slice(0, 16)}…)`).join(', ')}` : '')
  );
}

/**
 * Refuses carried state the run must not trust at all: carried state is accepted only when the run continues from a
 * previous execution of itself by continue-as-new, which Temporal tells the run (a retry of a failed start or a cron
 * run also names a previous execution, but reuses the input a client gave).
 * @throws ApplicationFailure `InvalidCarriedState`
 */
export function refuseUntrustedContinuation(): void {
  const info = workflowInfo();
  const why =
    info.continuedFromExecutionRunId === undefined
      ? 'this run is a fresh start'
      : info.attempt > 1
        ? `this run is retry attempt ${info.attempt}`
        : info.cronSchedule !== undefined
          ? 'this run is a cron run'
          : undefined;
  if (why !== undefined) {
    throw ApplicationFailure.nonRetryable(
      `refused the state passed as the second argument: ${why}, not a continue-as-new of this workflow`,
      FailureType.InvalidCarriedState,
    );
  }
}

/**
 * The digest a seal covers: the SHA-256 of the carried state's canonical JSON, without the seal and the audit outbox
 * (written after sealing; it checks itself by its hash chain).
 */
export function carriedDigest(carried: CarriedState): string {
  return valueHash({ ...carried, seal: undefined, audit: undefined });
}

/**
 * Seals the state a run is about to carry (the workers' HMAC, see `sealState`).
 * @returns the seal
 */
export async function sealCarried(carried: CarriedState, inFlight: InFlight): Promise<string> {
  const { seal } = await inFlight.track(
    sealState({ workflowId: workflowInfo().workflowId, digest: carriedDigest(carried) }),
  );
  return seal;
}

/**
 * Checks the seal of the state this run received, before anything of it runs, and takes the approver registry as it
 * is now.
 * @throws ApplicationFailure `InvalidCarriedState` when the seal is missing or does not match
 */
export async function openCarried(carried: CarriedState, authority: RunAuthority): Promise<void> {
  const opened = await openState({
    workflowId: workflowInfo().workflowId,
    digest: carriedDigest(carried),
    ...(carried.seal !== undefined ? { seal: carried.seal } : {}),
  });
  if (!opened.ok) {
    throw ApplicationFailure.nonRetryable(
      `refused the state carried from the previous run: ${opened.reason}`,
      FailureType.InvalidCarriedState,
    );
  }
  authority.useRegistry(opened.registry);
}
