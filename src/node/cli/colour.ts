import picocolors from 'picocolors';

/**
 * Whether the CLI colours what it prints: only for a terminal on stdout (and a `TERM` other than `dumb`), or when
 * `FORCE_COLOR` asks for it; never with `NO_COLOR` or `--no-color`.
 *
 * picocolors alone also colours whenever `CI` is set, which puts escape sequences into output that scripts and
 * CI logs read as text; the CLI promises plain text to anything that is not a terminal, so it decides here.
 *
 * @param env - the environment to read (the process's by default).
 * @param argv - the command line to read (the process's by default).
 * @param stdoutIsTty - whether stdout is a terminal.
 * @returns true to colour.
 */
export function colourWanted(
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv,
  stdoutIsTty: boolean = process.stdout.isTTY === true,
): boolean {
  if ((env.NO_COLOR ?? '') !== '' || argv.includes('--no-color')) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  return stdoutIsTty && env.TERM !== 'dumb';
}

/** The CLI's colours (picocolors' functions), plain when {@link colourWanted} says no. */
export const pc = picocolors.createColors(colourWanted());
