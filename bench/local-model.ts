// `npm run bench:model`: what the local model costs here. Load time (node-llama-cpp's binding, the GGUF file, a 4096-token
// context), then the model activity itself (the real `callModel`, in Temporal's mock activity context, with an in-memory
// transcript store) over a growing billing conversation: per-step time and tokens per second for the local model,
// against the scripted model on the same conversation. Needs `npm run model:fetch` first.
// Flags: --steps N (default 5), --threads N (default 1), --no-record (print only).
import { parseArgs } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createModelActivities } from '../activities/model/index';
import { defaultModelPath } from '../src/node/model/model-file';
import { openTranscriptStore } from '../src/node/transcript-store';
import { toolResultText } from '../src/shared/model/tool-result';
import { EMPTY_TRANSCRIPT_HASH, advance, type TranscriptRef } from '../src/shared/model/transcript';
import type { CallModelInput, ChatMessage, ModelCallSettings, ModelTurn, Scenario } from '../src/shared/model/types';
import { DEFAULT_SYSTEM_PROMPT } from '../src/shared/run-input';
import { toolNames } from '../src/shared/tools/catalog';
import { quantile, recordBenchmark } from './support';

const { values: flags } = parseArgs({
  options: {
    steps: { type: 'string', default: '5' },
    threads: { type: 'string', default: '1' },
    'no-record': { type: 'boolean', default: false },
  },
});
const steps = Number(flags.steps);
const threads = Number(flags.threads);
const say = (t: string): void => void process.stdout.write(`${t}\n`);

const GOAL =
  'Luís Gonçalves (customer 1) writes: invoice 1 was charged twice, and his bulk order on invoice 2 was cancelled but ' +
  'he still paid for it. Refund both, change his email to luis.goncalves@example.com and tell him.';

/** A scripted scenario as long as the bench, so the scripted model answers every step. */
const scenario: Scenario = {
  goal: GOAL,
  turns: Array.from({ length: steps }, () => ({
    content: 'Reading the invoice.',
    toolCalls: [{ name: 'get_invoice', arguments: { invoiceId: 1 } }],
  })),
};

interface Sample {
  ms: number;
  turn: ModelTurn;
}

/** Runs `steps` model calls on one conversation, answering each tool call with a fixed invoice. */
async function conversation(settings: ModelCallSettings, key: string): Promise<Sample[]> {
  const transcripts = openTranscriptStore(':memory:');
  const activities = createModelActivities({ transcripts, local: { modelPath: defaultModelPath(), threads } });
  let ref: TranscriptRef = { key, length: 0, hash: EMPTY_TRANSCRIPT_HASH };
  let append: ChatMessage[] = [
    { role: 'system', content: DEFAULT_SYSTEM_PROMPT },
    { role: 'user', content: GOAL },
  ];
  const samples: Sample[] = [];
  for (let step = 1; step <= steps; step += 1) {
    const input: CallModelInput = {
      workflowId: 'bench',
      step,
      settings,
      tools: [...toolNames],
      transcript: { key, at: ref.length, prefixHash: ref.hash, append },
      ...(step === 1 && settings.provider === 'scripted' ? { scenario } : {}),
    };
    const started = performance.now();
    const turn: ModelTurn = await new MockActivityEnvironment().run(
      (i: CallModelInput) => activities.callModel(i),
      input,
    );
    samples.push({ ms: performance.now() - started, turn });
    ref = advance(ref, append);
    const reply: ChatMessage = { role: 'assistant', content: turn.content, toolCalls: turn.toolCalls };
    const results: ChatMessage[] = turn.toolCalls.map((c) => ({
      role: 'tool',
      toolCallId: c.id,
      name: c.name,
      content: toolResultText({
        status: 'ok',
        result: { invoiceId: 1, customerId: 1, totalCents: 992, refundedCents: 0 },
      }),
    }));
    append = [reply, ...(results.length > 0 ? results : [{ role: 'user' as const, content: 'Go on.' }])];
  }
  transcripts.close();
  return samples;
}

async function main(): Promise<void> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const t0 = performance.now();
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  const t1 = performance.now();
  const model = await llama.loadModel({ modelPath: defaultModelPath() });
  const t2 = performance.now();
  const context = await model.createContext({ contextSize: 4096, sequences: 1, threads });
  const t3 = performance.now();
  await llama.dispose();
  say(`load: binding ${Math.round(t1 - t0)} ms, model ${Math.round(t2 - t1)} ms, context ${Math.round(t3 - t2)} ms`);
  void context;

  const local = await conversation({ provider: 'local', temperature: 0.7 }, 'bench-local');
  const scripted = await conversation({ provider: 'scripted' }, 'bench-scripted');
  // The first local call includes loading the model in the activity: kept apart.
  const warm = local.slice(1);
  const tps = warm.map((s) => (s.turn.usage.completionTokens * 1000) / s.ms);
  const row = (name: string, xs: readonly number[], digits = 0) =>
    `| ${name} | ${xs.length} | ${quantile(xs, 0.5).toFixed(digits)} | ${Math.max(...xs).toFixed(digits)} |`;
  const table = [
    '| measure | samples | median | max |',
    '|---|---|---|---|',
    `| load: binding + model + 4096-token context (ms) | 1 | ${Math.round(t3 - t0)} | ${Math.round(t3 - t0)} |`,
    row('local model call, first (loads the model) (ms)', [local[0]?.ms ?? NaN]),
    row(
      'local model call, later steps (ms)',
      warm.map((s) => s.ms),
    ),
    row(
      'local prompt tokens per call',
      warm.map((s) => s.turn.usage.promptTokens),
    ),
    row(
      'local completion tokens per call',
      warm.map((s) => s.turn.usage.completionTokens),
    ),
    row('local completion tokens per second (whole call)', tps, 1),
    row(
      'scripted model call (ms)',
      scripted.map((s) => s.ms),
      2,
    ),
  ];
  for (const line of table) say(line);
  for (const [i, s] of local.entries()) {
    say(
      `step ${i + 1}: ${s.turn.toolCalls.map((c) => `${c.name} ${c.arguments}`).join('; ') || `final: ${s.turn.content ?? ''}`}`,
    );
  }
  if (!flags['no-record']) {
    recordBenchmark(
      'Local model (SmolLM2 135M Q4_1, CPU)',
      `npm run bench:model -- --steps ${steps} --threads ${threads}`,
      table,
      [
        `The model activity (\`callModel\`) run in Temporal's mock activity context over one conversation of ${steps} steps`,
        '(billing goal, each tool call answered with a fixed invoice), generating under the tool grammar at temperature 0.7;',
        `${threads} generation thread(s). Prompt tokens count only what was not already evaluated (the sequence keeps the`,
        "conversation's prefix between calls). Tokens per second divide completion tokens by the whole call, prompt",
        'evaluation included. The machine was shared with other jobs (load average above 10 on 2 cores): figures are noisy.',
      ],
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
