import type { Command } from 'commander';
import type { Decision } from '../../shared/decision';
import { DecisionSchema } from '../../shared/decision';
import { InputError } from '../../shared/errors';
import { escapeTerminal } from '../../shared/render/escape';
import { formatZodError } from '../../shared/zod-format';
import { decide, resolveRequest } from '../client/index';
import { signDecision } from '../client/signing';
import { parseArgsJson, print, signingKey, withClient } from './io';

/** What a decision command adds to the decision besides the request, the approver and the argument hash. */
type DecisionExtras = Pick<Decision, 'reason' | 'message' | 'args'>;

/**
 * The four decision commands, as data: `hitl approve|reject|edit|respond ID [REQUEST] --as NAME …`. Each looks the
 * request up once (to bind the decision to the arguments and the effect the reviewer was shown), signs it with the
 * person's key when they have one, and sends the `decide` update; `hitl sign …` prints the same signed payload instead,
 * for the stock `temporal` CLI.
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

type DecisionOptions = Record<string, string | undefined> & { as: string };

/**
 * Adds one command per decision to `parent`: the decision commands themselves (`send`), or under `hitl sign` the
 * commands that print the signed payload.
 */
function addCommands(parent: Command, send: boolean): void {
  for (const spec of DECISION_COMMANDS) {
    const command = parent
      .command(spec.decision)
      .description(send ? spec.description : `print a signed ${spec.decision} for temporal workflow signal/update`)
      .argument('<workflowId>')
      .argument(spec.requestOptional ? '[requestId]' : '<requestId>')
      .requiredOption('--as <name>', `who decides (${spec.decision})`)
      .option('--key <name>', 'sign with this registered key instead of the person’s own (a delegated signer)');
    for (const o of spec.options) {
      if (o.required) command.requiredOption(o.flags, o.description);
      else command.option(o.flags, o.description);
    }
    command.action(async (workflowId: string, requestId: string | undefined, opts: DecisionOptions, cmd: Command) => {
      const extras = spec.extras(opts);
      await withClient(cmd, async (client) => {
        const request = await resolveRequest(client, workflowId, requestId);
        const parsed = DecisionSchema.safeParse({
          requestId: request.requestId,
          decision: spec.decision,
          approver: opts.as,
          argsHash: request.argsHash,
          ...(request.effect !== undefined ? { effectHash: request.effect.sha256 } : {}),
          ...extras,
        });
        if (!parsed.success) throw new InputError(formatZodError(parsed.error));
        const key = signingKey(opts.as, cmd);
        if (!send) {
          if (key === undefined)
            throw new InputError(`nothing to sign with: create a key with hitl keys init --as ${opts.as}`);
          print(JSON.stringify(signDecision(parsed.data, key, { namespace: client.options.namespace, workflowId })));
          return;
        }
        const receipt = await decide(client, workflowId, parsed.data, key !== undefined ? { key } : {});
        const state = receipt.closed ? 'closed' : `still open: ${receipt.approvalsNeeded} more approval(s) needed`;
        // The receipt is the run's word, and the approver a name a client wrote: escaped like everything else shown.
        print(
          escapeTerminal(`${receipt.decision} of ${receipt.requestId} by ${receipt.approver}`) +
            `${key !== undefined ? ' (signed)' : ''} recorded (args hash ${escapeTerminal(receipt.argsHash)}); ` +
            `request ${state}`,
        );
      });
    });
  }
}

/** `hitl approve|reject|edit|respond …` and `hitl sign approve|reject|edit|respond …`. */
export function addDecisionCommands(program: Command): void {
  addCommands(program, true);
  const sign = program
    .command('sign')
    .description('print a signed decision as JSON, to send with temporal workflow signal or update (--input)');
  addCommands(sign, false);
}
