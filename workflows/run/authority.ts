import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { FailureType } from '../../src/shared/errors';
import { normalizeName } from '../../src/shared/identity/names';
import {
  EMPTY_REGISTRY,
  verifySignature,
  type ApproverRegistry,
  type Signature,
  type StatementContent,
} from '../../src/shared/identity/signatures';
import { resolveGate, resolveMcpGate, type ResolvedGate } from '../../src/shared/policy/evaluate';
import type { PolicyPin } from '../../src/shared/policy/pin';
import type { Policy } from '../../src/shared/policy/schema';
import { findTool, toolNames } from '../../src/shared/tools/catalog';
import { mcpTool, type McpToolDefinition, type RunToolDefinition } from '../../src/shared/tools/mcp';

/** A signature is at most this old when its policy says nothing (runs pinned before signatures existed), in ms. */
const DEFAULT_SIGNATURE_MAX_AGE_MS = 15 * 60_000;

/** The run's authority as it travels across continue-as-new. */
export interface PinnedAuthority {
  policy: Policy;
  /** Where the policy came from (a file path, `built-in default`), for the audit trail. */
  source: string;
  /** `auto_logged` calls made so far in the run, per tool (the policy's per-run limit counts them). */
  autoLogged: Record<string, number>;
  /** The policy's name on the worker and the SHA-256 of its canonical form (absent in runs from before 2026-12-01). */
  name?: string;
  sha256?: string;
  /** The approver registry the run checks signatures against (absent before 2026-12-01: nobody could sign). */
  registry?: ApproverRegistry;
  /** Who started the run, verified when the start was signed, normalised (absent before 2026-12-01). */
  requestedBy?: string;
  /** The MCP tools the worker listed when the run started, each hash checked (absent: none). */
  mcpTools?: McpToolDefinition[];
}

/** A signed (or, where the policy allows, unsigned) message the run accepted. */
export interface Accepted {
  /** Whom it speaks for, normalised. */
  subject: string;
  /** For the audit trail: `fiona`, `fiona, via slack-bridge`, or `fiona (unsigned)`. */
  label: string;
  /** The delegated signer, when one signed for the subject. */
  via?: string;
  signed: boolean;
}

/**
 * What a run is allowed to do and who may say so: the policy it pinned at its start (one of the worker's, never the
 * client's), the approver registry its signatures are checked against, and its verified requester. It resolves the
 * gate of each call and verifies each signed message; the gate, the pauses, the stopper and the loop share it instead
 * of asking the run. Carried across continue-as-new, so a policy changed on the worker never alters a run in flight.
 */
export class RunAuthority {
  #pinned: PinnedAuthority | undefined;
  readonly #claimedRequester: string;
  readonly #approvalTimeoutMs: number;
  #mcp: Map<string, { def: McpToolDefinition; tool: RunToolDefinition }> | undefined;

  /**
   * @param claimedRequester - `requestedBy` as the run input names it (verified at the start when it is signed)
   * @param approvalTimeoutMs - the run input's approval timeout, in ms: the stage timeout where the policy sets none
   * @param carried - the authority an earlier segment of the run pinned
   */
  constructor(claimedRequester: string, approvalTimeoutMs: number, carried?: PinnedAuthority) {
    this.#claimedRequester = normalizeName(claimedRequester);
    this.#approvalTimeoutMs = approvalTimeoutMs;
    if (carried !== undefined) this.#pinned = { ...carried, autoLogged: { ...carried.autoLogged } };
  }

  /**
   * Pins the policy the run uses from now on (once, at the run's start), with the registry and the requester.
   * @param pin - the policy (a whole pin from the worker, or a run-input policy of a run from before 2026-12-01)
   * @param registry - the worker's approver registry
   * @param requestedBy - the verified requester; the claimed one when the start is unsigned
   */
  pin(
    pin: Pick<PolicyPin, 'policy' | 'source'> & Partial<PolicyPin>,
    registry?: ApproverRegistry,
    requestedBy?: string,
  ): void {
    this.#pinned = {
      policy: pin.policy,
      source: pin.source,
      autoLogged: {},
      ...(pin.name !== undefined ? { name: pin.name } : {}),
      ...(pin.sha256 !== undefined ? { sha256: pin.sha256 } : {}),
      ...(registry !== undefined ? { registry } : {}),
      ...(requestedBy !== undefined ? { requestedBy: normalizeName(requestedBy) } : {}),
    };
  }

  /**
   * Adds the MCP tools the worker listed to what the run may call (once, at the run's start, after their hashes are
   * checked). Carried across continue-as-new with the policy.
   */
  useMcpTools(defs: readonly McpToolDefinition[]): void {
    if (this.#pinned === undefined || defs.length === 0) return;
    this.#pinned.mcpTools = defs.map((d) => ({ ...d }));
    this.#mcp = undefined;
  }

  #mcpTools(): Map<string, { def: McpToolDefinition; tool: RunToolDefinition }> {
    this.#mcp ??= new Map((this.#pinned?.mcpTools ?? []).map((def) => [def.name, { def, tool: mcpTool(def) }]));
    return this.#mcp;
  }

  /**
   * A tool the run may call, by the name the model uses: the catalog's, then the run's MCP tools.
   * @param name - the tool's name as proposed
   * @returns the tool, or undefined when the run has none of that name
   */
  readonly findTool = (name: string): RunToolDefinition | undefined =>
    findTool(name) ?? this.#mcpTools().get(name)?.tool;

  /** The run's tools for parsing a call: lookup and names (for the refusal of an unknown one). */
  readonly tools = { find: (name: string) => this.findTool(name), names: () => this.toolNames };

  /** Names of every tool the run may call: the catalog's, then the MCP tools in the order the worker listed them. */
  get toolNames(): string[] {
    return [...toolNames, ...this.#mcpTools().keys()];
  }

  /** Sets the verified requester (the signer of the run's start), once the policy is pinned. */
  setRequester(requestedBy: string): void {
    if (this.#pinned !== undefined) this.#pinned.requestedBy = normalizeName(requestedBy);
  }

  /** Replaces the registry (read again from the worker before a request opens, and when a run continues). */
  useRegistry(registry: ApproverRegistry): void {
    if (this.#pinned !== undefined) this.#pinned.registry = registry;
  }

  /**
   * The pinned policy.
   * @throws ApplicationFailure `PolicyNotLoaded` before the run has pinned one (nothing can be pending then)
   */
  get policy(): Policy {
    return this.#require().policy;
  }

  /** Where the pinned policy came from. */
  get source(): string {
    return this.#pinned?.source ?? 'not loaded';
  }

  /** The policy's version, or `not loaded` before the run has pinned one. */
  get version(): string {
    return this.#pinned?.policy.version ?? 'not loaded';
  }

  /** The pinned policy's version, or undefined before the run has pinned one. */
  get pinnedVersion(): string | undefined {
    return this.#pinned?.policy.version;
  }

  /** The policy's name and the SHA-256 of its canonical form, when pinned from the worker. */
  get pinned(): { name?: string; sha256?: string } {
    const p = this.#pinned;
    return {
      ...(p?.name !== undefined ? { name: p.name } : {}),
      ...(p?.sha256 !== undefined ? { sha256: p.sha256 } : {}),
    };
  }

  /** The approver registry signatures are checked against. */
  get registry(): ApproverRegistry {
    return this.#pinned?.registry ?? EMPTY_REGISTRY;
  }

  /** Who started the run (normalised): verified when the start was signed. Separation of duties bars them. */
  get requestedBy(): string {
    return this.#pinned?.requestedBy ?? this.#claimedRequester;
  }

  /** Whether the policy refuses unsigned messages. */
  get signaturesRequired(): boolean {
    return this.#pinned?.policy.signatures === 'required';
  }

  /**
   * Checks who a message speaks for. A signed message must verify (see `verifySignature`); an unsigned one is taken
   * with its name as claimed only where the policy's `signatures` is `optional`.
   * @param subject - whom the message names (approver, requester, who answers or stops)
   * @param signature - its signature, if any
   * @param content - what it states, built from the run's own state
   * @param what - what the message is, for refusals (`decision`, `answer`, `stop`, `start`)
   * @returns the accepted identity, or the reason
   */
  accept(
    subject: string,
    signature: Signature | undefined,
    content: StatementContent,
    what: string,
  ): { ok: true; accepted: Accepted } | { ok: false; reason: string } {
    const person = normalizeName(subject);
    if (signature === undefined) {
      if (this.signaturesRequired) {
        const how =
          what === 'start'
            ? "hitl start --as NAME signs it with NAME's key"
            : 'hitl signs with the key of --as NAME; hitl sign prints a signed payload for other clients';
        return {
          ok: false,
          reason: `policy ${this.version} requires a signed ${what}, and this one is unsigned (${how})`,
        };
      }
      return { ok: true, accepted: { subject: person, label: person, signed: false } };
    }
    const info = workflowInfo();
    const checked = verifySignature(person, signature, content, {
      registry: this.registry,
      namespace: info.namespace,
      workflowId: info.workflowId,
      nowMs: Date.now(),
      maxAgeMs: this.#pinned?.policy.signatureMaxAge ?? DEFAULT_SIGNATURE_MAX_AGE_MS,
    });
    if (!checked.ok) return { ok: false, reason: `the ${what} of "${person}" is refused: ${checked.reason}` };
    const { subject: verified, via, label } = checked.verified;
    return { ok: true, accepted: { subject: verified, label, ...(via !== undefined ? { via } : {}), signed: true } };
  }

  /**
   * The gate a call goes through under the pinned policy.
   * @param toolName - the tool as proposed
   * @param args - its arguments, parsed by the tool's schema
   */
  resolve(toolName: string, args: Record<string, unknown>): ResolvedGate {
    const tool = findTool(toolName);
    const ctx = { autoLoggedCount: this.#pinned?.autoLogged[toolName] ?? 0, defaultTimeoutMs: this.#approvalTimeoutMs };
    const mcp = tool === undefined ? this.#mcpTools().get(toolName)?.def : undefined;
    if (mcp !== undefined) return resolveMcpGate(this.policy, mcp, args, ctx);
    return resolveGate(
      this.policy,
      { name: toolName, ...(tool !== undefined ? { classification: tool.classification } : {}) },
      args,
      ctx,
    );
  }

  /** Counts one `auto_logged` call of a tool against the policy's per-run limit. */
  countAutoLogged(toolName: string): void {
    if (this.#pinned === undefined) return;
    this.#pinned.autoLogged[toolName] = (this.#pinned.autoLogged[toolName] ?? 0) + 1;
  }

  /** How long a pause waits for an answer, in ms: the policy's default timeout, else the run's approval timeout. */
  pauseTimeoutMs(): number {
    return this.policy.defaults.timeout ?? this.#approvalTimeoutMs;
  }

  /** The authority as the run carries it into its next segment. */
  carry(): PinnedAuthority {
    const pinned = this.#require();
    return { ...pinned, autoLogged: { ...pinned.autoLogged } };
  }

  #require(): PinnedAuthority {
    const pinned = this.#pinned;
    if (pinned === undefined) {
      throw ApplicationFailure.nonRetryable('the run has not loaded its policy yet', FailureType.PolicyNotLoaded);
    }
    return pinned;
  }
}
