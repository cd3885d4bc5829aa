import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import type { Client } from '@temporalio/client';
import {
  auditTrail,
  connectClient,
  decide,
  listPausedRuns,
  listPendingApprovals,
  loadScenario,
  pendingApprovals,
  resolveRequest,
  resumeRun,
  runResult,
  runStatus,
  startAgentRun,
  stopRun,
  withStoredResults,
} from '../client/index';
import type { Decision } from '../../shared/decision';
import { HitlError, InputError, UpdateRefusedError } from '../../shared/errors';
import type { ModelSettings } from '../../shared/model/types';
import { parseDuration } from './duration';
import { decisionCommands, formatAudit, formatPendingLine, formatResult, formatShow } from './format';
import { renderPause, resumeCommands } from '../../shared/render/pause';
import type { PauseAction } from '../../shared/run-state';

/** The scenario the scripted model replays when no scenario and no model endpoint are given. */
export const DEFAULT_SCENARIO = fileURLToPath(new URL('../../../scenarios/refund-desk.json', import.meta.url));

interface GlobalOptions {
  address?: string;
  namespace?: string;
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

async function withClient<T>(cmd: Command, fn: (client: Client) => Promise<T>): Promise<T> {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  const { client } = await connectClient({
    ...(opts.address !== undefined ? { address: opts.address } : {}),
    ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
  });
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

function parseArgsJson(text: string): Record<string, unknown> {
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

function parseStepsJson(text: string): { tool: string; args: Record<string, unknown> }[] {
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

/** What a decision command adds to the decision besides the request, the approver and the argument hash. */
type DecisionExtras = Pick<Decision, 'reason' | 'message' | 'args'>;

/**
 * The four decision commands, as data: `hitl approve|reject|edit|respond ID [REQUEST] --as NAME …`. Each looks the
 * request up once (to bind the decision to the arguments the reviewer was shown) and sends the `decide` update.
 */
const DECISION_COMMANDS: {
  decision: Decision['decision'];
  description: string;
  /** Whether REQUEST may be left out when the run has one pending request. */
  requestOptional: boolean;
  options: { flags: string; description: string; required: boolean }[];
  extras(opts: Record<string, string | undefined>): DecisionExtras;
}[] = [
  {
    decision: 'approve',
    description: 'approve a pending request (REQUEST may be left out when exactly one is pending)',
    requestOptional: true,
    options: [{ flags: '--reason <text>', description: 'why (optional)', required: false }],
    extras: (o) => (o['reason'] !== undefined ? { reason: o['reason'] } : {}),
  },
  {
    decision: 'reject',
    description: 'reject a pending request; the agent is told the reason',
    requestOptional: true,
    options: [{ flags: '--reason <text>', description: 'why (the agent reads it)', required: true }],
    extras: (o) => ({ reason: o['reason'] ?? '' }),
  },
  {
    decision: 'edit',
    description: 'approve a pending request with new arguments (validated by the tool schema)',
    requestOptional: false,
    options: [
      { flags: '--args <json>', description: 'the full replacement arguments as a JSON object', required: true },
      { flags: '--reason <text>', description: 'why (optional)', required: false },
    ],
    extras: (o) => ({
      args: parseArgsJson(o['args'] ?? ''),
      ...(o['reason'] !== undefined ? { reason: o['reason'] } : {}),
    }),
  },
  {
    decision: 'respond',
    description: 'send feedback to the model instead of deciding; the call does not run',
    requestOptional: true,
    options: [
      {
        flags: '--message <text>',
        description: 'what the agent should do instead (the model reads it)',
        required: true,
      },
    ],
    extras: (o) => ({ message: o['message'] ?? '' }),
  },
];

function addDecisionCommands(program: Command): void {
  for (const spec of DECISION_COMMANDS) {
    const command = program
      .command(spec.decision)
      .description(spec.description)
      .argument('<workflowId>')
      .argument(spec.requestOptional ? '[requestId]' : '<requestId>')
      .requiredOption('--as <name>', `who decides (${spec.decision})`);
    for (const o of spec.options) {
      if (o.required) command.requiredOption(o.flags, o.description);
      else command.option(o.flags, o.description);
    }
    command.action(
      async (
        workflowId: string,
        requestId: string | undefined,
        opts: Record<string, string | undefined> & { as: string },
        cmd: Command,
      ) => {
        const extras = spec.extras(opts);
        await withClient(cmd, async (client) => {
          const request = await resolveRequest(client, workflowId, requestId);
          const receipt = await decide(client, workflowId, {
            requestId: request.requestId,
            decision: spec.decision,
            approver: opts.as,
            argsHash: request.argsHash,
            ...extras,
          });
          const state = receipt.closed ? 'closed' : `still open: ${receipt.approvalsNeeded} more approval(s) needed`;
          print(
            `${receipt.decision} of ${receipt.requestId} by ${receipt.approver} recorded (args hash ${receipt.argsHash}); request ${state}`,
          );
        });
      },
    );
  }
}

/** Builds the `hitl` command tree. Exported so tests can run it in-process. */
export function buildProgram(): Command {
  const program = new Command('hitl')
    .description('Start agent runs and decide their approval requests')
    .option('--address <host:port>', 'Temporal server (default: $TEMPORAL_ADDRESS or 127.0.0.1:7233)')
    .option('--namespace <name>', 'Temporal namespace (default: $TEMPORAL_NAMESPACE or default)')
    .showHelpAfterError();

  program
    .command('start')
    .description('start an agent run and print its workflow id')
    .option('--goal <text>', 'what the agent should do (default: the scenario goal)')
    .option('--scenario <file>', 'replay this scenario with the scripted model')
    .option('--model <name>', 'use an OpenAI-compatible model (worker needs OPENAI_API_KEY / OPENAI_BASE_URL)')
    .option('--id <workflowId>', 'workflow id (default agent-<random>)')
    .option('--as <name>', 'who requests the run (default: $USER)')
    .option('--timeout <duration>', 'how long a gated call waits for a decision, e.g. 10m, 24h', '24h')
    .addOption(
      new Option('--review <mode>', 'plan: review the whole plan once before anything runs')
        .choices(['none', 'plan'])
        .default('none'),
    )
    .option('--json', 'print {"workflowId": …}')
    .action(
      async (
        opts: {
          goal?: string;
          scenario?: string;
          model?: string;
          id?: string;
          as?: string;
          timeout: string;
          review: 'none' | 'plan';
          json?: boolean;
        },
        cmd: Command,
      ) => {
        let model: ModelSettings;
        let goal = opts.goal;
        if (opts.model !== undefined && opts.scenario === undefined) {
          model = { provider: 'openai', model: opts.model };
        } else {
          const path = opts.scenario ?? DEFAULT_SCENARIO;
          if (opts.scenario === undefined) note(`no --scenario or --model given: the scripted model replays ${path}`);
          const scenario = await loadScenario(path);
          model = { provider: 'scripted', scenario };
          goal ??= scenario.goal;
        }
        if (goal === undefined) throw new InputError('--goal is required with --model');
        const requestedBy = opts.as ?? process.env['USER'] ?? 'cli';
        const approvalTimeoutMs = parseDuration(opts.timeout);
        await withClient(cmd, async (client) => {
          const { workflowId } = await startAgentRun(
            client,
            { goal, requestedBy, model, approvalTimeoutMs, review: opts.review },
            opts.id !== undefined ? { workflowId: opts.id } : {},
          );
          print(opts.json === true ? JSON.stringify({ workflowId }) : workflowId);
        });
      },
    );

  program
    .command('pending')
    .description('list pending approval requests and paused runs across all runs (--json: the requests only)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const [pending, paused] = await Promise.all([listPendingApprovals(client), listPausedRuns(client)]);
        if (opts.json === true) return print(JSON.stringify(pending, null, 2));
        if (pending.length === 0 && paused.length === 0) return print('nothing is waiting for approval');
        const blocks = [
          ...paused.map(
            ({ workflowId, pause }) => `${workflowId}\n${renderPause(pause)}\n${resumeCommands(workflowId, pause)}`,
          ),
          ...pending.map((p) => `${formatPendingLine(p)}\n${decisionCommands(p)}`),
        ];
        print(blocks.join('\n\n'));
      });
    });

  program
    .command('show')
    .description("show a run's status and its pending requests")
    .argument('<workflowId>')
    .option('--json', 'print JSON')
    .action(async (workflowId: string, opts: { json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const [status, pending] = await Promise.all([
          runStatus(client, workflowId),
          pendingApprovals(client, workflowId),
        ]);
        print(opts.json === true ? JSON.stringify({ status, pending }, null, 2) : formatShow(status, pending));
      });
    });

  addDecisionCommands(program);

  program
    .command('resume')
    .description(
      'answer a paused run: continue or stop (budget, check-in, checkpoint), retry, skip or abort (failing tool), ' +
        'approve, edit or reject (plan review)',
    )
    .argument('<workflowId>')
    .argument('<action>', 'continue | stop | retry | skip | abort | approve | edit | reject')
    .requiredOption('--as <name>', 'who answers')
    .option('--reason <text>', 'why (required for stop, abort and reject; the agent reads a rejection)')
    .option('--steps <json>', 'edit: the full replacement plan, a JSON array of {"tool", "args"}')
    .action(
      async (
        workflowId: string,
        action: string,
        opts: { as: string; reason?: string; steps?: string },
        cmd: Command,
      ) => {
        const steps = opts.steps !== undefined ? parseStepsJson(opts.steps) : undefined;
        await withClient(cmd, async (client) => {
          const { pause } = await runStatus(client, workflowId);
          if (pause === undefined) throw new InputError(`run ${workflowId} is not paused`);
          if (!pause.actions.includes(action as PauseAction)) {
            throw new InputError(
              `this ${pause.kind.replace('_', ' ')} pause takes ${pause.actions.join(', ')}, not "${action}"`,
            );
          }
          const answered = await resumeRun(client, workflowId, {
            pauseId: pause.pauseId,
            action: action as PauseAction,
            by: opts.as,
            ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
            ...(steps !== undefined ? { steps } : {}),
          });
          print(
            `${answered.action} recorded for the ${pause.kind.replace('_', ' ')} pause of ${workflowId} by ${opts.as}`,
          );
        });
      },
    );

  program
    .command('stop')
    .description('end a run cleanly: pending requests close and the audit trail says who stopped it')
    .argument('<workflowId>')
    .requiredOption('--as <name>', 'who stops the run')
    .requiredOption('--reason <text>', 'why')
    .action(async (workflowId: string, opts: { as: string; reason: string }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const { closedRequests } = await stopRun(client, workflowId, { by: opts.as, reason: opts.reason });
        print(`stopped ${workflowId}; ${closedRequests} pending request(s) closed`);
      });
    });

  program
    .command('result')
    .description('wait for a run to finish and print its result')
    .argument('<workflowId>')
    .option('--json', 'print JSON')
    .action(async (workflowId: string, opts: { json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        // Large results are kept by reference in the run; the transcript store on this host has them.
        const { result, unresolved } = withStoredResults(await runResult(client, workflowId));
        print(opts.json === true ? JSON.stringify(result, null, 2) : formatResult(result));
        if (unresolved > 0) {
          note(
            `${unresolved} large result(s) are not in this host's transcript store: only their references are shown`,
          );
        }
      });
    });

  program
    .command('audit')
    .description("print a run's audit trail")
    .argument('<workflowId>')
    .option('--json', 'print JSON')
    .action(async (workflowId: string, opts: { json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const entries = await auditTrail(client, workflowId);
        print(opts.json === true ? JSON.stringify(entries, null, 2) : formatAudit(entries));
      });
    });

  program.addOption(new Option('--no-color', 'accepted for compatibility; output has no colour').hideHelp());
  return program;
}

/**
 * Runs the CLI. Exit codes: 0 done, 1 refused or failed (the message says why), 2 bad input.
 * @param argv - process.argv
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return 0;
  } catch (err) {
    if (err instanceof UpdateRefusedError) {
      note(`refused: ${err.message}`);
      return 1;
    }
    if (err instanceof InputError) {
      note(`error: ${err.message}`);
      return 2;
    }
    if (err instanceof HitlError) {
      note(`error: ${err.message}`);
      return 1;
    }
    note(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (process.argv[1] !== undefined && /(?:main\.ts|hitl(?:\.mjs)?)$/.test(process.argv[1])) {
  process.exitCode = await runCli(process.argv);
}
