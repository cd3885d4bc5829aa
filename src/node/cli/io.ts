import { NamespaceNotFoundError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { HitlError, InputError, TemporalUnreachable } from '../../shared/errors';
import { connectionConfig, type ConnectionConfig } from '../config';
import { grpcCode } from '../client/waiting';
import { escapeTerminal } from '../../shared/render/escape';
import { connectClient } from '../client/index';
import { keysDir, loadKey, type SigningKey } from '../identity/keys';

/** Options every command takes. */
export interface GlobalOptions {
  address?: string;
  namespace?: string;
  profile?: string;
  configFile?: string;
  keysDir?: string;
}

/** Prints a line of the command's output (stdout). */
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/**
 * Prints a line for the person (stderr): warnings, hints, refusals. The text is escaped to one line
 * ({@link escapeTerminal}): a refusal or an error quotes what a client or the server sent (a reason, a name, an id).
 */
export function note(text: string): void {
  process.stderr.write(`${escapeTerminal(text)}\n`);
}

/**
 * Runs `fn` with a client connected as the global options say, and closes it after. Failing to reach the server, and
 * a namespace the server does not have, become {@link TemporalUnreachable} naming the address and namespace.
 * @throws TemporalUnreachable when the server cannot be reached (the CLI exits with 3)
 */
export async function withClient<T>(cmd: Command, fn: (client: Client) => Promise<T>): Promise<T> {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  const overrides = {
    ...(opts.address !== undefined ? { address: opts.address } : {}),
    ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
    ...(opts.profile !== undefined ? { profile: opts.profile } : {}),
    ...(opts.configFile !== undefined ? { configFile: opts.configFile } : {}),
  };
  const { address, namespace, tls, apiKey } = connectionConfig(overrides);
  const where = `Temporal at ${address} (namespace ${namespace}${tls !== undefined && tls !== false ? ', TLS' : ''})`;
  let client: Client;
  try {
    ({ client } = await connectClient(overrides));
  } catch (err) {
    if (err instanceof HitlError) throw err;
    throw new TemporalUnreachable(`cannot reach ${where}: ${messageOf(err)}${tlsHint(tls, apiKey)}`, { cause: err });
  }
  try {
    return await fn(client);
  } catch (err) {
    if (err instanceof NamespaceNotFoundError) {
      throw new TemporalUnreachable(`${where}: the server has no namespace ${namespace}`, { cause: err });
    }
    const code = grpcCode(err);
    // UNAVAILABLE: the server went away; DEADLINE_EXCEEDED outside a detail query: it did not answer in time.
    if (code === 14 || code === 4)
      throw new TemporalUnreachable(`cannot reach ${where}: ${messageOf(err)}`, { cause: err });
    throw err;
  } finally {
    await client.connection.close();
  }
}

/**
 * What to check when the connection fails: a server that wants TLS, or a client certificate, refuses the handshake
 * without saying why (the client only sees the connection fail).
 */
function tlsHint(tls: ConnectionConfig['tls'], apiKey: string | undefined): string {
  if (tls === undefined || tls === false) {
    return ' (if the server uses TLS: TEMPORAL_TLS=true, or a [profile.NAME.tls] section in the Temporal config file)';
  }
  if (apiKey === undefined && (tls === true || tls.clientCertPair === undefined)) {
    return (
      ' (if the server requires client certificates: client_cert_path and client_key_path in the profile, or' +
      ' TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH)'
    );
  }
  return '';
}

function messageOf(err: unknown): string {
  const own = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : undefined;
  return cause !== undefined && !own.includes(cause) ? `${own} (${cause})` : own;
}

/**
 * The key a command signs with: `--key NAME`'s (a delegated signer), else the person's own (`--as NAME`), from the
 * keys folder (`--keys-dir`, else `HITL_KEYS_DIR`, else `~/.config/hitl/keys`). Without one the message goes unsigned,
 * which a policy with `signatures: required` refuses; the person is told so.
 * @param person - whom the message speaks for
 * @param cmd - the command (for its options)
 */
export function signingKey(person: string, cmd: Command): SigningKey | undefined {
  const opts = cmd.optsWithGlobals<GlobalOptions & { key?: string }>();
  const owner = opts.key ?? person;
  const dir = keysDir(opts.keysDir);
  const key = loadKey(owner, dir);
  if (key === undefined) {
    if (opts.key !== undefined)
      throw new InputError(`no key for ${owner} in ${dir} (create one: hitl keys init --as ${owner})`);
    note(`no key for ${owner} in ${dir}: sending unsigned (a policy that requires signatures refuses it)`);
  }
  return key;
}

/** Parses `--args`: a JSON object. */
export function parseArgsJson(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(`--args is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError('--args must be a JSON object, e.g. \'{"invoiceId":12,"amountCents":500,"reason":"dup"}\'');
  }
  return value as Record<string, unknown>;
}

/** Parses `--steps`: a JSON array of `{ tool, args }`. */
export function parseStepsJson(text: string): { tool: string; args: Record<string, unknown> }[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(`--steps is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(value)) {
    throw new InputError('--steps must be a JSON array, e.g. \'[{"tool":"issue_refund","args":{…}}]\'');
  }
  return value as { tool: string; args: Record<string, unknown> }[];
}
