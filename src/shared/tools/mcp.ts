import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../hash';
import type { PrecheckName } from './catalog';
import type { ToolClassification, ToolDefinition } from './types';

// Runs inside the workflow sandbox: the run rebuilds each MCP tool from the definition the worker listed, checks its
// hash, and parses proposed arguments with the schema it declares. No Node built-ins.

/** The annotations an MCP server may give a tool. Hints only: they can raise a gate, never lower one. */
export interface McpAnnotations {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/** One tool an MCP server listed, as the worker saw it at its start. Plain JSON: it travels in history. */
export interface McpToolDefinition {
  /** The server's name in the operator's MCP settings, e.g. `files`. */
  server: string;
  /** The tool's name on its server, e.g. `delete_file`. */
  tool: string;
  /** The name the model calls and the activity type that runs it: `mcp__<server>__<tool>`. */
  name: string;
  description: string;
  /** The JSON Schema of the tool's arguments, as the server declared it. */
  inputSchema: Record<string, unknown>;
  annotations: McpAnnotations;
  /**
   * The argument the run fills with the call's idempotency key (`idempotency_key` or `idempotencyKey`, when the
   * schema declares one); the model never writes it.
   */
  idempotencyArg?: string;
  /** {@link mcpDefinitionHash} of this definition. */
  sha256: string;
}

/** Argument names a server's schema may declare to receive the call's idempotency key. */
export const IDEMPOTENCY_ARGS: readonly string[] = ['idempotency_key', 'idempotencyKey'];

/** Server names: lower case letters, digits and `-` (no `_`, so `mcp__<server>__<tool>` splits one way). */
export const MCP_SERVER_NAME = /^[a-z][a-z0-9-]{0,29}$/;

/** Tool names the agent can call (what chat-completions APIs accept, within 64 characters with the prefix). */
export const MCP_TOOL_NAME = /^[A-Za-z0-9_-]{1,50}$/;

/**
 * The name the model calls an MCP tool by.
 * @param server - the server's name in the MCP settings
 * @param tool - the tool's name on its server
 * @returns `mcp__<server>__<tool>`
 */
export function mcpToolName(server: string, tool: string): string {
  return `mcp__${server}__${tool}`;
}

/**
 * The SHA-256 of a tool's definition: the canonical JSON of its name, description, input schema and annotations, as
 * the server gave them. A policy acknowledges a tool at this hash; a server that changes any of them changes it.
 * @param def - the tool's name on its server, description, input schema and annotations
 * @returns 64 hex characters
 */
export function mcpDefinitionHash(
  def: Pick<McpToolDefinition, 'tool' | 'description' | 'inputSchema' | 'annotations'>,
): string {
  return sha256Hex(
    canonicalJson({
      name: def.tool,
      description: def.description,
      inputSchema: def.inputSchema,
      annotations: def.annotations,
    }),
  );
}

/**
 * The input schema as the model sees it and the run parses it: without the idempotency argument, which the activity
 * fills in with the call's key.
 * @param def - the tool's definition
 * @returns the JSON Schema (the server's own object when the tool takes no key)
 */
export function modelInputSchema(def: McpToolDefinition): Record<string, unknown> {
  const arg = def.idempotencyArg;
  if (arg === undefined) return def.inputSchema;
  const properties = { ...(def.inputSchema['properties'] as Record<string, unknown> | undefined) };
  delete properties[arg];
  const required = def.inputSchema['required'];
  return {
    ...def.inputSchema,
    properties,
    ...(Array.isArray(required) ? { required: required.filter((r) => r !== arg) } : {}),
  };
}

/**
 * How an MCP tool is classified from its annotations, read the cautious way round: only `readOnlyHint: true` makes
 * it a read; anything else may write, and `destructiveHint` (true unless the server says false, as MCP defines it)
 * makes it irreversible.
 */
function classify(a: McpAnnotations, server: string): ToolClassification {
  if (a.readOnlyHint === true) {
    return { reversibility: 'reversible', blastRadius: 'none', externalEffects: [], financialImpact: 'none' };
  }
  return {
    reversibility: a.destructiveHint === false ? 'partially_reversible' : 'irreversible',
    blastRadius: 'single_record',
    externalEffects: a.openWorldHint === false ? [] : [`mcp:${server}`],
    financialImpact: 'none',
  };
}

/** A tool the run can call: a catalog tool, or one of the run's MCP tools. */
export type RunToolDefinition = ToolDefinition<z.ZodType, string, PrecheckName>;

/**
 * The run's form of an MCP tool: its arguments parsed with the JSON Schema the server declared (through zod's
 * `fromJSONSchema`, without the idempotency argument), its classification from its annotations, and a summary for
 * reviewers. Deterministic.
 * @param def - the definition the worker listed
 * @returns the tool, whose name is also its activity type
 */
export function mcpTool(def: McpToolDefinition): RunToolDefinition {
  // A schema zod cannot read, or one that is not an object's, lets no call through: the model hears why.
  let parameters: z.ZodType = z.never();
  const schema = modelInputSchema(def);
  if (schema['type'] === 'object') {
    try {
      parameters = z.fromJSONSchema(schema);
    } catch {
      parameters = z.never();
    }
  }
  return {
    name: def.name,
    description: def.description,
    parameters,
    classification: classify(def.annotations, def.server),
    describe: (args) => `${def.server}: ${def.tool}(${canonicalJson(args).slice(0, 300)})`,
  };
}
