import { readFileSync } from 'node:fs';
import { currentTracing, startTracing } from '../telemetry/tracing';
import { fileURLToPath } from 'node:url';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { Command, CommanderError, Option } from 'commander';
import {
  loadScenario,
  resumeRun,
  runResult,
  runStatus,
  startAgentRun,
  stopRun,
  withStoredResults,
} from '../client/index';
import { ConfigError, HitlError, InputError, TemporalUnreachable, UpdateRefusedError } from '../../shared/errors';
import {
  AgentDeadlineKey,
  AgentDecidersKey,
  AgentPendingToolsKey,
  AgentStatusKey,
  pendingApprovalsQuery,
  statusQuery,
} from '../../shared/messages';
import { queryRun, settleAll } from '../client/waiting';
import { addPendingCommand } from './pending-command';
import { addDecisionCommands } from './decision-commands';
import { note, parseStepsJson, print, signingKey, withClient } from './io';
import { addKeyCommands } from './key-commands';
import { addCodecCommands } from './codec-commands';
import { addAuditCommands } from './audit-commands';
import { addStatsCommand } from './stats-command';
import { addServeCommand } from './serve-command';
import { addInboxCommand } from './inbox-command';
import type { ModelSettings } from '../../shared/model/types';
import { parseDuration } from './duration';
import { formatResult, formatShow } from './format';
import { relativeTime } from '../../shared/render/relative-time';
import { displayJson } from '../../shared/render/escape';
import type { PauseAction } from '../../shared/run-state';

/** The scenario the scripted model replays when no scenario and no model endpoint are given. */
export const DEFAULT_SCENARIO = fileURLToPath(new URL('../../../scenarios/refund-desk.json', import.meta.url));

/** The package's version, from package.json. */
function packageVersion(): string {
  const path = fileURLToPath(new URL('../../../package.json', import.meta.url));
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

/** Builds the `hitl` command tree. Exported so tests can run it in-process. */
export function buildProgram(): Command {
  const program = new Command('hitl')
    .description('Start agent runs and decide their approval requests')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--address <host:port>', 'Temporal server (default: $TEMPORAL_ADDRESS, the profile, or 127.0.0.1:7233)')
    .option('--namespace <name>', 'Temporal namespace (default: $TEMPORAL_NAMESPACE, the profile, or default)')
    .option('--profile <name>', 'profile of the Temporal config file (default: $TEMPORAL_PROFILE or default)')
    .option(
      '--config-file <file>',
      'Temporal config file, temporal.toml (default: $TEMPORAL_CONFIG_FILE or ~/.config/temporalio/temporal.toml)',
    )
    .option('--keys-dir <dir>', 'where signing keys are kept (default: $HITL_KEYS_DIR or ~/.config/hitl/keys)')
    .showHelpAfterError();

  program
    .command('start')
    .description('start an agent run and print its workflow id')
    .option('--goal <text>', 'what the agent should do (default: the scenario goal)')
    .option('--scenario <file>', 'replay this scenario with the scripted model')
    .option(
      '--model <name>',
      "use an OpenAI-compatible model (worker needs OPENAI_API_KEY / OPENAI_BASE_URL), or `local`: the worker's GGUF model",
    )
    .option('--id <workflowId>', 'workflow id (default agent-<random>)')
    .option('--as <name>', 'who requests the run, signing with their key when they have one (default: $USER)')
    .option('--policy <name>', "which of the worker's policies the run uses (default: the worker's default)")
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
          policy?: string;
          timeout: string;
          review: 'none' | 'plan';
          json?: boolean;
        },
        cmd: Command,
      ) => {
        let model: ModelSettings;
        let goal = opts.goal;
        if (opts.model !== undefined && opts.scenario === undefined) {
          // `local` is the worker's own GGUF model (`npm run model:fetch`); any other name goes to the endpoint.
          model = opts.model === 'local' ? { provider: 'local' } : { provider: 'openai', model: opts.model };
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
        const key = signingKey(requestedBy, cmd);
        await withClient(cmd, async (client) => {
          const { workflowId } = await startAgentRun(
            client,
            {
              goal,
              requestedBy,
              model,
              approvalTimeoutMs,
              review: opts.review,
              ...(opts.policy !== undefined ? { policy: opts.policy } : {}),
            },
            { ...(opts.id !== undefined ? { workflowId: opts.id } : {}), ...(key !== undefined ? { key } : {}) },
          );
          print(opts.json === true ? JSON.stringify({ workflowId }) : workflowId);
        });
      },
    );

  addPendingCommand(program);

  program
    .command('show')
    .description("show a run's status and its pending requests")
    .argument('<workflowId>')
    .option('--json', 'print JSON')
    .action(async (workflowId: string, opts: { json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const [status, pending] = await queryRun(client, workflowId, (handle) =>
          settleAll([handle.query(statusQuery), handle.query(pendingApprovalsQuery)] as const),
        );
        print(opts.json === true ? displayJson({ status, pending }, 2) : formatShow(status, pending));
      });
    });

  addDecisionCommands(program);
  addKeyCommands(program);
  addCodecCommands(program);

  program
    .command('resume')
    .description(
      'answer a paused run: continue or stop (budget, check-in, checkpoint), retry, skip or abort (failing tool), ' +
        'approve, edit or reject (plan review)',
    )
    .argument('<workflowId>')
    .argument('<action>', 'continue | stop | retry | skip | abort | approve | edit | reject')
    .requiredOption('--as <name>', 'who answers')
    .option('--key <name>', 'sign with this registered key instead of the person’s own (a delegated signer)')
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
          const key = signingKey(opts.as, cmd);
          const answered = await resumeRun(
            client,
            workflowId,
            {
              pauseId: pause.pauseId,
              action: action as PauseAction,
              by: opts.as,
              ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
              ...(steps !== undefined ? { steps } : {}),
            },
            key !== undefined ? { key } : {},
          );
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
    .option('--key <name>', 'sign with this registered key instead of the person’s own (a delegated signer)')
    .action(async (workflowId: string, opts: { as: string; reason: string }, cmd: Command) => {
      const key = signingKey(opts.as, cmd);
      await withClient(cmd, async (client) => {
        const stop = { by: opts.as, reason: opts.reason };
        const { closedRequests } = await stopRun(client, workflowId, stop, key !== undefined ? { key } : {});
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
        await sayWhatItWaitsFor(client, workflowId);
        // Large results are kept by reference in the run; the transcript store on this host has them.
        const { result, unresolved } = withStoredResults(await runResult(client, workflowId));
        print(opts.json === true ? displayJson(result, 2) : formatResult(result));
        if (unresolved > 0) {
          note(
            `${unresolved} large result(s) are not in this host's transcript store: only their references are shown`,
          );
        }
      });
    });

  addAuditCommands(program);
  addStatsCommand(program);
  addServeCommand(program);
  addInboxCommand(program);

  program.addOption(new Option('--no-color', 'no colour (also NO_COLOR=1; output that is not a terminal has none)'));
  return program;
}

/**
 * Before `hitl result` waits on a run that waits for people, says what for (on stderr), so the wait is not silent.
 */
async function sayWhatItWaitsFor(client: Client, workflowId: string): Promise<void> {
  let description;
  try {
    description = await client.workflow.getHandle(workflowId).describe();
  } catch {
    return; // result() says what is wrong with the id.
  }
  if (description.status.name !== 'RUNNING') return;
  const agentStatus = description.typedSearchAttributes.get(AgentStatusKey);
  if (agentStatus !== 'AwaitingApproval' && agentStatus !== 'Paused') return;
  const tools = description.typedSearchAttributes.get(AgentPendingToolsKey) ?? [];
  const deciders = description.typedSearchAttributes.get(AgentDecidersKey) ?? [];
  const deadline = description.typedSearchAttributes.get(AgentDeadlineKey);
  const what = agentStatus === 'Paused' ? 'an answer to its pause' : `a decision on ${tools.join(', ') || 'a request'}`;
  const who = deciders.map((d) => (d === '*' ? 'anyone' : d)).join(', ');
  const when =
    deadline !== undefined ? `, deadline ${deadline.toISOString()} (${relativeTime(deadline.toISOString())})` : '';
  note(
    `run ${workflowId} is waiting for ${what}${who !== '' ? ` from ${who}` : ''}${when}; ` +
      `see it with: npx hitl show ${workflowId}. Waiting for its result…`,
  );
}

/**
 * Runs the CLI. Exit codes: 0 done; 1 refused by the workflow, or the run failed (the message says why); 2 bad input
 * or usage (an unknown option, a missing argument, an invalid file); 3 cannot reach Temporal (the server, or a worker
 * to answer about a run; the message names the address and namespace).
 * @param argv - process.argv
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    // With the OTEL_* variables set, `hitl start` opens the run's trace (exported before the CLI exits).
    startTracing();
    const program = buildProgram();
    // Usage errors throw instead of exiting, at every level, so they get exit code 2.
    const override = (c: Command): void => {
      c.exitOverride();
      c.commands.forEach(override);
    };
    override(program);
    await program.parseAsync([...argv]);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander printed its message already; help and --version end with 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof TemporalUnreachable) {
      note(`error: ${err.message}`);
      return 3;
    }
    if (err instanceof ConfigError) {
      note(`error: ${err.message}`);
      return 2;
    }
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
    if (err instanceof WorkflowFailedError) {
      // The run's own reason (a refused start, a failed tool) is in the cause; the outer message says only "failed".
      note(`error: the run failed: ${err.cause?.message ?? err.message}`);
      return 1;
    }
    note(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await currentTracing()?.shutdown();
  }
}

if (process.argv[1] !== undefined && /(?:main\.ts|hitl(?:\.mjs)?)$/.test(process.argv[1])) {
  process.exitCode = await runCli(process.argv);
}
