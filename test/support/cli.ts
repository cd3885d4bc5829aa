import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './env';

const exec = promisify(execFile);

/** What a `hitl` command printed and how it exited. */
export interface CliOutcome {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Runs the `hitl` CLI (bin/hitl.mjs) as a user would; resolves with its output and exit code whatever the code.
 * @param args - the command line after `hitl`
 * @param env - variables added to this process's environment
 */
export async function hitl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliOutcome> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [join(repoRoot, 'bin/hitl.mjs'), ...args], {
      // A FORCE_COLOR inherited from the shell that runs the tests would colour what the CLI writes to a pipe.
      env: { ...process.env, FORCE_COLOR: undefined, ...env },
    });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 };
  }
}
