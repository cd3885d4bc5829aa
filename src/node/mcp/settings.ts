// Node-only: the operator's MCP settings (which servers the worker connects to, and how).
import { z } from 'zod';
import { ConfigError } from '../../shared/errors';
import { MCP_SERVER_NAME } from '../../shared/tools/mcp';
import { loadConfigFile } from '../policy-file';

/** The environment variable naming the MCP settings file. */
export const MCP_ENV_VAR = 'HITL_MCP';

/** How long one MCP tool call may take when the settings give no `callTimeout`, in ms (under the activity's minute). */
export const DEFAULT_MCP_CALL_TIMEOUT_MS = 50_000;

const envName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name, e.g. TICKETS_TOKEN')
  .max(128);
const headerName = z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'an HTTP header name');

const StdioServerSchema = z.strictObject({
  transport: z.literal('stdio'),
  /** The program to start, e.g. `node` or `npx`. */
  command: z.string().min(1).max(1024),
  args: z.array(z.string().max(4096)).max(100).default([]),
  /** Variables for the server besides the few safe ones the SDK passes on (`PATH`, `HOME`, …). */
  env: z.record(envName, z.string().max(4096)).default({}),
  /** The server's working directory (default: the worker's). */
  cwd: z.string().min(1).max(1024).optional(),
});

const HttpServerSchema = z.strictObject({
  transport: z.literal('http'),
  /** The server's streamable HTTP endpoint, e.g. `http://127.0.0.1:7450/mcp`. */
  url: z
    .string()
    .max(2048)
    .url()
    .refine((u) => /^https?:\/\//i.test(u), 'an http:// or https:// URL'),
  /** Headers sent with every request (no secrets here: use `headersFromEnv`). */
  headers: z.record(headerName, z.string().max(4096)).default({}),
  /** Headers whose values are read from environment variables at start, e.g. `{ Authorization: TICKETS_AUTH }`. */
  headersFromEnv: z.record(headerName, envName).default({}),
});

const ServerSchema = z.discriminatedUnion('transport', [StdioServerSchema, HttpServerSchema]);

/** One server's settings. */
export type McpServerSettings = z.output<typeof ServerSchema>;

const McpSettingsSchema = z.strictObject({
  /** Servers by name: the name policies classify their tools under (`mcp.NAME.tools`). */
  servers: z.record(
    z.string().regex(MCP_SERVER_NAME, 'a server name: lower-case letters, digits and -, at most 30'),
    ServerSchema,
  ),
  /** How long one tool call may take, in ms. */
  callTimeoutMs: z.number().int().min(100).max(55_000).default(DEFAULT_MCP_CALL_TIMEOUT_MS),
});

/** The parsed MCP settings. */
export type McpSettings = z.output<typeof McpSettingsSchema>;

/**
 * Parses MCP settings given as a value (tests, embedding).
 * @param value - `{ servers, callTimeoutMs? }`
 * @returns the settings
 * @throws ConfigError naming each problem (unknown keys are problems)
 */
export function parseMcpSettings(value: unknown): McpSettings {
  const parsed = McpSettingsSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
  throw new ConfigError(`invalid MCP settings: ${problems.join('; ')}`);
}

/**
 * The worker's MCP settings: the explicit file, else the file `HITL_MCP` names, else none (no MCP tools).
 * @param options - `path`: an explicit file; `env`: the environment to read (default `process.env`)
 * @returns the settings and where they came from, or undefined when nothing names a file
 * @throws ConfigError when the file cannot be read or is invalid, naming the file, each problem's `line:col` and key
 *   path (e.g. `mcp.yaml:3:5: servers.files.comand: unknown key "comand"`)
 */
export function resolveMcpSettings(
  options: { path?: string; env?: Readonly<Record<string, string | undefined>> } = {},
): { settings: McpSettings; source: string } | undefined {
  const fromEnv = (options.env ?? process.env)[MCP_ENV_VAR]?.trim();
  const path = options.path ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
  if (path === undefined) return undefined;
  return { settings: loadConfigFile(path, McpSettingsSchema, 'MCP settings'), source: path };
}
