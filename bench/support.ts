import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelSettings } from '../src/shared/model/types';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** The `q`-quantile (0..1) of `values` by the nearest-rank method. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? NaN;
}

/** One line naming the machine: CPU model, core count, memory, Node version. */
export function machine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/**
 * Appends a dated section to BENCHMARKS.md (creating the file with its header when missing).
 * @param title - the benchmark's name
 * @param command - the command that produced the figures
 * @param table - Markdown table rows, header first
 * @param notes - sentences under the table
 */
export function recordBenchmark(title: string, command: string, table: string[], notes: string[] = []): void {
  const path = join(repoRoot, 'BENCHMARKS.md');
  if (!existsSync(path)) {
    writeFileSync(
      path,
      '# Benchmarks\n\nEach section is appended by a script under `bench/`; figures are medians and p99 over the samples ' +
        'stated. The machine is noisy (2 cores): compare ratios measured in one run, not across sections.\n',
    );
  }
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  appendFileSync(
    path,
    `\n## ${title} (${date} UTC)\n\nMachine: ${machine()}. Command: \`${command}\`.\n\n${table.join('\n')}\n` +
      (notes.length > 0 ? `\n${notes.join(' ')}\n` : ''),
  );
}

/** The scripted model of a run that asks for one 1-cent refund (a hard gate under the default policy), then ends. */
export const ONE_REFUND_MODEL: ModelSettings = {
  provider: 'scripted',
  scenario: {
    goal: 'bench',
    turns: [
      { toolCalls: [{ name: 'issue_refund', arguments: { invoiceId: 1, amountCents: 1, reason: 'bench' } }] },
      { content: 'done' },
    ],
  },
};
