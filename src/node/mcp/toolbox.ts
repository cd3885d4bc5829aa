// Node-only: the worker's connections to its MCP servers, and the tools they listed at its start.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ConfigError } from '../../shared/errors';
import { canonicalJson } from '../../shared/hash';
import {
  IDEMPOTENCY_ARGS,
  MCP_TOOL_NAME,
  mcpDefinitionHash,
  mcpToolName,
  type McpAnnotations,
  type McpToolDefinition,
} from '../../shared/tools/mcp';
import { logger } from '../logger';
import type { McpServerSettings, McpSettings } from './settings';

/** Largest tool definition (canonical JSON) the worker offers, in bytes; a larger one is left out with a warning. */
export const MAX_MCP_DEFINITION_BYTES = 64 * 1024;

/**
 * All the definitions together at most (canonical JSON), in bytes: every run carries them in its history, at its start
 * and across continue-as-new. A worker whose servers list more refuses to start.
 */
export const MAX_MCP_TOTAL_BYTES = 256 * 1024;

/** At most this many tools per server (pages of `tools/list` are followed up to it). */
export const MAX_MCP_TOOLS_PER_SERVER = 200;

const CLIENT_INFO = { name: 'hitl-agent-worker', version: '1.0.0' };

/** The annotations' four hints, and nothing else a server sends. */
function hints(raw: Record<string, unknown> | undefined): McpAnnotations {
  const out: McpAnnotations = {};
  for (const key of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
    const v = raw?.[key];
    if (typeof v === 'boolean') out[key] = v;
  }
  return out;
}

/** The argument of a schema that takes the idempotency key: a declared string property of one of the known names. */
function idempotencyArgOf(schema: Record<string, unknown>): string | undefined {
  const properties = schema['properties'];
  if (typeof properties !== 'object' || properties === null) return undefined;
  return IDEMPOTENCY_ARGS.find((name) => {
    const p = (properties as Record<string, unknown>)[name];
    return typeof p === 'object' && p !== null && ((p as { type?: unknown }).type ?? 'string') === 'string';
  });
}

function transportOf(name: string, server: McpServerSettings, env: NodeJS.ProcessEnv): Transport {
  if (server.transport === 'stdio') {
    const transport = new StdioClientTransport({
      command: server.command,
      args: server.args,
      env: { ...getDefaultEnvironment(), ...server.env },
      ...(server.cwd !== undefined ? { cwd: server.cwd } : {}),
      stderr: 'pipe',
    });
    // Read the server's stderr (an unread pipe would stall it once full) into the worker's log.
    transport.stderr?.on('data', (chunk: Buffer) =>
      logger.debug({ mcpServer: name }, chunk.toString('utf8').trimEnd()),
    );
    return transport;
  }
  const headers: Record<string, string> = { ...server.headers };
  for (const [header, variable] of Object.entries(server.headersFromEnv)) {
    const value = env[variable];
    if (value === undefined || value === '') {
      throw new ConfigError(`MCP server ${name}: header ${header} needs ${variable}, which is not set`);
    }
    headers[header] = value;
  }
  return new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers } });
}

/**
 * The worker's MCP servers and the tools they listed when it started. The tools are fixed for the worker's life: a
 * server that changes its tools is seen at the next start, where a changed definition gets a new hash.
 */
export class McpToolbox {
  readonly #clients: Map<string, Client>;
  readonly #byName: Map<string, McpToolDefinition>;
  /** How long one call may take, in ms. */
  readonly callTimeoutMs: number;

  private constructor(clients: Map<string, Client>, definitions: McpToolDefinition[], callTimeoutMs: number) {
    this.#clients = clients;
    this.#byName = new Map(definitions.map((d) => [d.name, d]));
    this.callTimeoutMs = callTimeoutMs;
  }

  /** A toolbox without servers (no MCP settings). */
  static empty(): McpToolbox {
    return new McpToolbox(new Map(), [], 0);
  }

  /**
   * Connects to every server in the settings and lists its tools. Tools whose name the agent cannot call (outside
   * `[A-Za-z0-9_-]{1,50}`), whose definition is over {@link MAX_MCP_DEFINITION_BYTES} or past
   * {@link MAX_MCP_TOOLS_PER_SERVER} are left out, each with a warning.
   * @param settings - from `resolveMcpSettings`
   * @param env - where `headersFromEnv` reads (default `process.env`)
   * @returns the toolbox; the caller closes it
   * @throws ConfigError naming the server when one cannot be started, reached or listed (the others are closed)
   */
  static async connect(settings: McpSettings, env: NodeJS.ProcessEnv = process.env): Promise<McpToolbox> {
    const clients = new Map<string, Client>();
    const definitions: McpToolDefinition[] = [];
    try {
      for (const [name, server] of Object.entries(settings.servers)) {
        const client = new Client(CLIENT_INFO);
        try {
          await client.connect(transportOf(name, server, env), { timeout: settings.callTimeoutMs });
        } catch (err) {
          if (err instanceof ConfigError) throw err;
          const message = err instanceof Error ? err.message : String(err);
          throw new ConfigError(`MCP server ${name} (${server.transport}) cannot be reached: ${message}`, {
            cause: err,
          });
        }
        clients.set(name, client);
        definitions.push(...(await listDefinitions(name, client, settings.callTimeoutMs)));
      }
      const total = Buffer.byteLength(canonicalJson(definitions));
      if (total > MAX_MCP_TOTAL_BYTES) {
        throw new ConfigError(
          `the MCP servers list ${definitions.length} tools of ${total} bytes together; the limit is ` +
            `${MAX_MCP_TOTAL_BYTES} bytes (each run carries them): connect fewer servers`,
        );
      }
    } catch (err) {
      await Promise.allSettled([...clients.values()].map((c) => c.close()));
      throw err;
    }
    return new McpToolbox(clients, definitions, settings.callTimeoutMs);
  }

  /** The tools, in the order the servers listed them. */
  get definitions(): McpToolDefinition[] {
    return [...this.#byName.values()];
  }

  /**
   * Calls a tool on its server.
   * @param def - one of {@link definitions}
   * @param args - the arguments, the idempotency argument filled in
   * @param signal - aborts the request (the activity was cancelled)
   * @returns the server's result
   * @throws whatever the SDK throws: an `McpError` (the server refused the request, or it timed out), or a transport
   *   error
   */
  async call(def: McpToolDefinition, args: Record<string, unknown>, signal?: AbortSignal): Promise<CallToolResult> {
    const client = this.#clients.get(def.server);
    if (client === undefined) throw new Error(`MCP server ${def.server} is not connected`);
    const result = await client.callTool({ name: def.tool, arguments: args }, undefined, {
      timeout: this.callTimeoutMs,
      ...(signal !== undefined ? { signal } : {}),
    });
    return result as CallToolResult;
  }

  /** Closes every connection (a stdio server's process ends). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#clients.values()].map((c) => c.close()));
    this.#clients.clear();
  }
}

async function listDefinitions(server: string, client: Client, timeout: number): Promise<McpToolDefinition[]> {
  const out: McpToolDefinition[] = [];
  let cursor: string | undefined;
  do {
    let page;
    try {
      page = await client.listTools(cursor !== undefined ? { cursor } : {}, { timeout });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new ConfigError(`MCP server ${server} did not list its tools: ${message}`, { cause: err });
    }
    for (const tool of page.tools) {
      if (out.length >= MAX_MCP_TOOLS_PER_SERVER) {
        logger.warn({ mcpServer: server }, `more than ${MAX_MCP_TOOLS_PER_SERVER} tools: the rest are left out`);
        return out;
      }
      if (!MCP_TOOL_NAME.test(tool.name)) {
        logger.warn(
          { mcpServer: server, tool: JSON.stringify(tool.name) },
          'left out a tool whose name cannot be called',
        );
        continue;
      }
      const base = {
        tool: tool.name,
        description: tool.description ?? '',
        inputSchema: tool.inputSchema as Record<string, unknown>,
        annotations: hints(tool.annotations),
      };
      if (Buffer.byteLength(canonicalJson(base)) > MAX_MCP_DEFINITION_BYTES) {
        logger.warn({ mcpServer: server, tool: tool.name }, `left out a tool over ${MAX_MCP_DEFINITION_BYTES} bytes`);
        continue;
      }
      const idempotencyArg = idempotencyArgOf(base.inputSchema);
      out.push({
        server,
        name: mcpToolName(server, tool.name),
        ...base,
        ...(idempotencyArg !== undefined ? { idempotencyArg } : {}),
        sha256: mcpDefinitionHash(base),
      });
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return out;
}
