// Runs the peer benchmarks against LangGraph.js one after the other, each in a process of its own (each starts and
// stops its own dev server), passing --quick on. Each appends its section to BENCHMARKS.md.
//   npm run bench:peers [-- --quick] [-- --only durability-tax,crash-semantics]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../test/support/env';
import { reportFailure } from './common';

/** In the order they run: the cheap, headline figures first, the long crash and capacity runs last. */
const BENCHMARKS = [
  'durability-tax',
  'approval-round-trip',
  'history-bytes',
  'crash-semantics',
  'parked-runs',
] as const;

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } },
});
const chosen = values.only?.split(',') ?? [...BENCHMARKS];
const unknown = chosen.filter((name) => !(BENCHMARKS as readonly string[]).includes(name));

function run(name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', join(repoRoot, 'bench/peers', `${name}.ts`), ...(values.quick ? ['--quick'] : [])];
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal !== null ? 1 : 0)));
  });
}

async function main(): Promise<void> {
  if (unknown.length > 0)
    throw new Error(`unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHMARKS.join(', ')}`);
  const failed: string[] = [];
  for (const name of BENCHMARKS.filter((b) => chosen.includes(b))) {
    process.stderr.write(`\n== ${name} ==\n`);
    if ((await run(name)) !== 0) failed.push(name);
  }
  if (failed.length > 0) throw new Error(`failed: ${failed.join(', ')}`);
}

main().catch(reportFailure);
