import type { Command } from 'commander';
import { ConfigError } from '../../shared/errors';
import { startCodecServer } from '../codec/codec-server';
import { EncryptionCodec } from '../codec/encryption-codec';
import { addPayloadKey, loadPayloadKeys, PAYLOAD_KEYS_ENV } from '../codec/payload-keys';
import { note, print } from './io';

/** Environment variable holding the codec server's bearer tokens (comma-separated). */
export const CODEC_TOKENS_ENV = 'HITL_CODEC_TOKENS';

/** `hitl payload-keys add` and `hitl codec-server`. */
export function addCodecCommands(program: Command): void {
  const keys = program.command('payload-keys').description('manage the keys that encrypt payloads in Temporal');
  keys
    .command('add')
    .description('create the key file with a new key, or add a new current key to it (rotation)')
    .option('--file <path>', `the key file (default: $${PAYLOAD_KEYS_ENV})`)
    .option('--id <id>', 'the new key id (default: key-DATE-RANDOM)')
    .action((opts: { file?: string; id?: string }) => {
      const file = opts.file ?? process.env[PAYLOAD_KEYS_ENV]?.trim();
      if (file === undefined || file === '') throw new ConfigError(`name the key file: --file or ${PAYLOAD_KEYS_ENV}`);
      const { id, count } = addPayloadKey(file, opts.id);
      note(
        `wrote ${file} (mode 0600): new payloads are encrypted with "${id}"; ${count} key(s) decrypt. Give the same ` +
          `file to every worker, client and codec server (${PAYLOAD_KEYS_ENV}=${file}) and restart them.`,
      );
      print(id);
    });

  program
    .command('codec-server')
    .description('serve /encode and /decode for the Temporal Web UI and the temporal CLI (--codec-endpoint)')
    .option('--keys <file>', `the payload key file (default: $${PAYLOAD_KEYS_ENV})`)
    .option('--host <ip>', 'interface to listen on', '127.0.0.1')
    .option('--port <n>', 'port', '8081')
    .option('--origin <url...>', "the Web UI's origin, allowed to call from a browser", ['http://localhost:8233'])
    .option('--namespace <name...>', 'serve only these namespaces (X-Namespace header)')
    .action(async (opts: { keys?: string; host: string; port: string; origin: string[]; namespace?: string[] }) => {
      const keys = loadPayloadKeys(opts.keys);
      if (keys === undefined) throw new ConfigError(`name the payload key file: --keys or ${PAYLOAD_KEYS_ENV}`);
      const tokens = (process.env[CODEC_TOKENS_ENV] ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '');
      if (tokens.length === 0) {
        throw new ConfigError(`set ${CODEC_TOKENS_ENV} to the bearer token(s) callers must present (16+ characters)`);
      }
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError(`bad --port ${opts.port}`);
      const server = await startCodecServer({
        codec: new EncryptionCodec(keys),
        tokens,
        origins: opts.origin,
        host: opts.host,
        port,
        ...(opts.namespace !== undefined ? { namespaces: opts.namespace } : {}),
      });
      note(
        `codec server on ${server.url} (keys from ${keys.source}, current "${keys.current}"; browser origins: ` +
          `${opts.origin.join(', ')}). Try: temporal workflow show -w ID --codec-endpoint ${server.url} ` +
          `--codec-auth "Bearer $${CODEC_TOKENS_ENV}"`,
      );
      await new Promise<void>((resolvePromise) => {
        const stop = () => void server.close().then(resolvePromise);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
