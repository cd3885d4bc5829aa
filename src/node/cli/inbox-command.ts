import type { Command } from 'commander';
import { InputError } from '../../shared/errors';
import { keysDir, loadKey } from '../identity/keys';
import { startInboxServer } from '../inbox/server';
import { loadPolicyBook } from '../policy-book';
import { note, print, withClient, type GlobalOptions } from './io';

/** The port `hitl inbox` listens on unless `--port` says otherwise. */
export const DEFAULT_INBOX_PORT = 8788;

/** Parses `--port`: 0 (any free port) to 65535. */
function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new InputError(`--port must be 0 to 65535, not ${text}`);
  return port;
}

/**
 * Adds `hitl inbox --as NAME [--port N] [--policy FILE|DIR]`: a local web inbox for one reviewer, on 127.0.0.1, that
 * signs every decision with NAME's key. It refuses to start when NAME has no key. It runs until Ctrl-C.
 * @param program - the `hitl` program
 */
export function addInboxCommand(program: Command): void {
  program
    .command('inbox')
    .description("serve NAME's approval inbox on 127.0.0.1; every decision is signed with NAME's key")
    .requiredOption('--as <name>', 'whose inbox (signs with this person’s key)')
    .option('--port <n>', `port on 127.0.0.1 (0: any free port)`, String(DEFAULT_INBOX_PORT))
    .option('--policy <file|dir>', 'the policies, to show the gate an edit would get (default: $HITL_POLICY)')
    .action(async (opts: { as: string; port: string; policy?: string }, cmd: Command) => {
      const port = parsePort(opts.port);
      const dir = keysDir(cmd.optsWithGlobals<GlobalOptions>().keysDir);
      const key = loadKey(opts.as, dir);
      if (key === undefined) {
        throw new InputError(
          `no key for ${opts.as} in ${dir}: the inbox signs every decision, so create one first ` +
            `(hitl keys init --as ${opts.as}) and have it registered with the workers`,
        );
      }
      const policies = loadPolicyBook(opts.policy);
      await withClient(cmd, async (client) => {
        let lastError = '';
        const inbox = await startInboxServer({
          client,
          reviewer: opts.as,
          key,
          policies,
          port,
          onError: (err) => {
            const text = err instanceof Error ? err.message : String(err);
            if (text !== lastError) note(`cannot read the runs: ${text}`);
            lastError = text;
          },
        });
        print(`inbox of ${opts.as}: ${inbox.url}`);
        note('open that address (it carries the token that lets the page act); Ctrl-C stops the inbox');
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await inbox.close();
      });
    });
}
