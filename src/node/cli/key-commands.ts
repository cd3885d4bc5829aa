import type { Command } from 'commander';
import { InputError } from '../../shared/errors';
import { createKey, keysDir, loadKey, registryLine } from '../identity/keys';
import { type GlobalOptions, note, print } from './io';

/** `hitl keys init --as NAME [--force]` and `hitl keys show --as NAME`. */
export function addKeyCommands(program: Command): void {
  const keys = program.command('keys').description("manage a person's Ed25519 signing key (kept in --keys-dir)");
  keys
    .command('init')
    .description("create NAME's key pair; prints the line to add to the workers' approver registry")
    .requiredOption('--as <name>', 'whose key')
    .option('--force', 'replace an existing key (the old one stops working once it leaves the registry)')
    .action((opts: { as: string; force?: boolean }, cmd: Command) => {
      const dir = keysDir(cmd.optsWithGlobals<GlobalOptions>().keysDir);
      const { file, line } = createKey(opts.as, { dir, force: opts.force === true });
      note(
        `wrote ${file} (mode 0600); add this line to the approver registry (HITL_APPROVERS) and restart the workers:`,
      );
      print(line);
    });
  keys
    .command('show')
    .description("print NAME's registry line (the public key)")
    .requiredOption('--as <name>', 'whose key')
    .action((opts: { as: string }, cmd: Command) => {
      const dir = keysDir(cmd.optsWithGlobals<GlobalOptions>().keysDir);
      const key = loadKey(opts.as, dir);
      if (key === undefined)
        throw new InputError(`no key for ${opts.as} in ${dir} (create one: hitl keys init --as ${opts.as})`);
      print(registryLine(key));
    });
}
