import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { McpFault } from '../activities/mcp/index';
import { buildToolSpecs } from '../activities/model/tool-specs';
import { auditTrail } from '../client';
import { resolveMcpSettings, parseMcpSettings } from '../src/node/mcp/settings';
import { McpToolbox } from '../src/node/mcp/toolbox';
import { loadPolicyFile } from '../src/node/policy-file';
import { ConfigError } from '../src/shared/errors';
import { PolicySchema, type Policy } from '../src/shared/policy/schema';
import type { AgentRunResult } from '../src/shared/run-state';
import { mcpDefinitionHash, type McpToolDefinition } from '../src/shared/tools/mcp';
import { hitl } from './support/cli';
import { approveAs } from './support/decisions';
import { repoRoot, sharedEnv, tempDir } from './support/env';
import { answer, call, withWorker, type Harness } from './support/harness';
import { notesServer, readNotes } from './support/mcp-notes-server';

const example = loadPolicyFile(join(repoRoot, 'policies/example.yaml'));
const serverScript = join(repoRoot, 'test/support/mcp-notes-server.ts');
const READ = 'mcp__notes__read_note';
const DELETE = 'mcp__notes__delete_note';
const TOUCH = 'mcp__notes__touch_note';

/** The notes server on stdio, as a child process of the toolbox, with its own state file. */
async function stdioNotes(variant = ''): Promise<{ toolbox: McpToolbox; file: string }> {
  const file = join(tempDir('hitl-mcp-'), 'notes.json');
  const settings = parseMcpSettings({
    servers: {
      notes: {
        transport: 'stdio',
        command: process.execPath,
        args: ['--import', 'tsx', serverScript],
        cwd: repoRoot,
        env: { NOTES_FILE: file, NOTES_VARIANT: variant },
      },
    },
  });
  return { toolbox: await McpToolbox.connect(settings), file };
}

function definition(toolbox: McpToolbox, name: string): McpToolDefinition {
  const def = toolbox.definitions.find((d) => d.name === name);
  assert.ok(def !== undefined, `the toolbox lists ${name}`);
  return def;
}

/**
 * The example policy with the notes server classified: read_note `auto`, delete_note `auto_logged` (its destructive
 * annotation raises it), touch_note left out unless `touch` is given; each at the hash `hashes` names.
 */
function notesPolicy(version: string, hashes: Record<string, string>, touch?: Record<string, unknown>): Policy {
  const tools: Record<string, unknown> = {
    read_note: { gate: 'auto', sha256: hashes['read_note'] },
    delete_note: { gate: 'auto_logged', sha256: hashes['delete_note'], approvers: { groups: ['admins'] } },
  };
  if (touch !== undefined) tools['touch_note'] = touch;
  return PolicySchema.parse({ ...example, version, mcp: { notes: { tools } } });
}

function hashesOf(toolbox: McpToolbox): Record<string, string> {
  return Object.fromEntries(toolbox.definitions.map((d) => [d.tool, d.sha256]));
}

async function finished(run: { result: () => Promise<unknown> }): Promise<AgentRunResult> {
  return (await run.result()) as AgentRunResult;
}

describe('MCP tools under the policy', () => {
  let notes: { toolbox: McpToolbox; file: string };
  before(async () => {
    notes = await stdioNotes();
  });
  after(async () => {
    await notes.toolbox.close();
  });

  it('lists the stdio server tools at start with their definition hashes, and offers them without the key argument', () => {
    const names = notes.toolbox.definitions.map((d) => d.name).sort();
    assert.deepEqual(names, [DELETE, READ, TOUCH]);
    const del = definition(notes.toolbox, DELETE);
    assert.equal(del.idempotencyArg, 'idempotency_key');
    assert.equal(del.sha256, mcpDefinitionHash(del));
    assert.deepEqual(del.annotations, { destructiveHint: true });
    const [spec] = buildToolSpecs([DELETE], notes.toolbox.definitions);
    const properties = (spec?.function.parameters as { properties: Record<string, unknown> }).properties;
    assert.deepEqual(Object.keys(properties), ['name'], 'the model never writes the idempotency key');
    assert.equal(definition(notes.toolbox, READ).idempotencyArg, undefined);
  });

  it('runs a read-only MCP tool at once, refuses arguments its schema does not take, and passes on an error result', async () => {
    const policy = notesPolicy('mcp-read', hashesOf(notes.toolbox));
    await withWorker(
      async (h) => {
        const run = await h.startScripted(
          [
            call(READ, { name: 'welcome' }),
            call(READ, { name: 42 }),
            call(READ, { name: 'missing' }),
            answer('read it'),
          ],
          { policy },
        );
        const result = await finished(run);
        assert.deepEqual(
          result.outcomes.map((o) => [o.tool, o.gate ?? null, o.status]),
          [
            [READ, 'auto', 'executed'],
            [READ, null, 'invalid'],
            [READ, 'auto', 'failed'],
          ],
        );
        // The server's error result reaches the model as the tool's answer (and is on the ledger for a retry).
        assert.match(result.outcomes[2]?.error ?? '', /^ToolRefused: notes refused read_note: no note missing/);
        assert.equal(result.outcomes[0]?.result, 'hello');
        assert.match(result.outcomes[1]?.error ?? '', /invalid arguments for mcp__notes__read_note: name/);
      },
      { mcp: notes.toolbox },
    );
  });

  it('holds a destructive MCP tool for a signed approval (its annotation raises the gate), then runs it once', async () => {
    const policy = notesPolicy('mcp-destructive', hashesOf(notes.toolbox));
    await withWorker(
      async (h) => {
        const run = await h.startScripted([call(DELETE, { name: 'plan' }), answer('deleted')], { policy });
        const [request] = await h.pending(run.workflowId);
        assert.equal(request?.gate, 'hard');
        assert.match(
          request?.because ?? '',
          /raised to hard: the server does not mark it read-only or non-destructive/,
        );
        assert.deepEqual(request?.eligibleApprovers, ['ada', 'alan']);
        assert.equal(readNotes(notes.file).effects.length, 0, 'nothing runs before the approval');
        await approveAs(h.client, run.workflowId, request, 'ada');
        const result = await finished(run);
        assert.equal(result.outcomes[0]?.status, 'executed');
        const state = readNotes(notes.file);
        const deletes = state.effects.filter((e) => e.tool === 'delete_note');
        assert.equal(deletes.length, 1);
        assert.match(deletes[0]?.key ?? '', new RegExp(`^${run.workflowId}:`), "the server got the call's key");
        assert.equal(state.notes['plan'], undefined);
        const trail = await auditTrail(h.client, run.workflowId);
        assert.ok(trail.some((e) => e.kind === 'tool_executed' && e.tool === DELETE));
      },
      { mcp: notes.toolbox },
    );
  });

  it('holds an unclassified MCP tool as hard, and hitl show says it is unclassified', async () => {
    const policy = notesPolicy('mcp-unclassified', hashesOf(notes.toolbox));
    const { address } = await sharedEnv();
    await withWorker(
      async (h) => {
        const run = await h.startScripted([call(TOUCH, { name: 'welcome' }), answer('left alone')], { policy });
        const [request] = await h.pending(run.workflowId);
        assert.equal(request?.gate, 'hard');
        assert.match(request?.because ?? '', /^unclassified MCP tool touch_note of server notes: fail closed/);
        const shown = await hitl(['show', run.workflowId], { TEMPORAL_ADDRESS: address });
        assert.match(shown.stdout, /unclassified MCP tool touch_note of server notes/);
        await approveAs(h.client, run.workflowId, request, 'ada');
        await finished(run);
        assert.equal(readNotes(notes.file).effects.filter((e) => e.tool === 'touch_note').length, 1);
      },
      { mcp: notes.toolbox },
    );
  });

  it('holds a tool whose definition changed as hard until the policy acknowledges the new hash', async () => {
    const changed = await stdioNotes('changed');
    try {
      const old = hashesOf(notes.toolbox);
      const now = hashesOf(changed.toolbox);
      assert.notEqual(now['read_note'], old['read_note'], 'another description is another definition');
      const stale = notesPolicy('mcp-stale', old);
      const acknowledged = notesPolicy('mcp-acknowledged', now);
      const { address } = await sharedEnv();
      await withWorker(
        async (h) => {
          const held = await h.startScripted([call(READ, { name: 'welcome' }), answer('asked')], { policy: stale });
          const [request] = await h.pending(held.workflowId);
          assert.equal(request?.gate, 'hard');
          assert.match(request?.because ?? '', /definition changed: MCP tool read_note of server notes now has/);
          assert.match(request?.because ?? '', new RegExp(now['read_note'] ?? 'missing'));
          const shown = await hitl(['show', held.workflowId], { TEMPORAL_ADDRESS: address });
          assert.match(shown.stdout, /definition changed/);
          assert.equal(readNotes(changed.file).calls.length, 0, 'the changed tool did not run');

          const run = await h.startScripted([call(READ, { name: 'welcome' }), answer('read')], {
            policy: acknowledged,
          });
          const result = await finished(run);
          assert.equal(result.outcomes[0]?.gate, 'auto');
          assert.equal(result.outcomes[0]?.status, 'executed');
          await approveAs(h.client, held.workflowId, request, 'ada');
          await finished(held);
        },
        { mcp: changed.toolbox },
      );
    } finally {
      await changed.toolbox.close();
    }
  });

  it('does not repeat an MCP call whose activity is retried after the server answered', async () => {
    const own = await stdioNotes();
    try {
      const hashes = hashesOf(own.toolbox);
      // touch_note is classified auto at its hash; its annotations (a write, not destructive) raise it to auto_logged.
      const policy = notesPolicy('mcp-retried', hashes, { gate: 'auto', sha256: hashes['touch_note'] });
      const faults = new Map<string, McpFault>([
        [DELETE, 'after_answer'],
        [TOUCH, 'after_record'],
      ]);
      await withWorker(
        async (h) => {
          const run = await h.startScripted(
            [call(TOUCH, { name: 'welcome' }), call(DELETE, { name: 'welcome' }), answer('done')],
            { policy },
          );
          const [request] = await h.pending(run.workflowId);
          await approveAs(h.client, run.workflowId, request!, 'alan');
          const result = await finished(run);
          assert.deepEqual(
            result.outcomes.map((o) => [o.tool, o.gate, o.status]),
            [
              [TOUCH, 'auto_logged', 'executed'],
              [DELETE, 'hard', 'executed'],
            ],
          );
          const state = readNotes(own.file);
          // Failed after the ledger recorded it: the retry replayed the ledger, the server saw one call.
          assert.equal(state.calls.filter((c) => c.tool === 'touch_note').length, 1);
          // Failed after the server answered, before the ledger: the retry called again with the same key.
          const deleteCalls = state.calls.filter((c) => c.tool === 'delete_note');
          assert.equal(deleteCalls.length, 2);
          assert.equal(deleteCalls[0]?.key, deleteCalls[1]?.key);
          assert.equal(state.effects.filter((e) => e.tool === 'delete_note').length, 1, 'one effect');
          assert.equal(state.effects.filter((e) => e.tool === 'touch_note').length, 1, 'one effect');
          const rows = h.db
            .prepare<[string], { n: number }>('SELECT count(*) AS n FROM hitl_idempotency WHERE tool LIKE ?')
            .get('mcp__notes__%');
          assert.equal(rows?.n, 2, 'both calls are on the ledger');
        },
        { mcp: own.toolbox, mcpFaults: faults },
      );
    } finally {
      await own.toolbox.close();
    }
  });

  it('runs a read-only tool of a streamable HTTP server on 127.0.0.1', async () => {
    const file = join(tempDir('hitl-mcp-http-'), 'notes.json');
    const server: Server = createServer((req, res) => {
      // Stateless: a server and a transport per request, as the SDK's stateless example does.
      const mcp = notesServer(file);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close();
        void mcp.close();
      });
      mcp
        .connect(transport)
        .then(() => transport.handleRequest(req, res))
        .catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => server.listen(7451, '127.0.0.1', resolve));
    const toolbox = await McpToolbox.connect(
      parseMcpSettings({ servers: { notes: { transport: 'http', url: 'http://127.0.0.1:7451/mcp' } } }),
    );
    try {
      assert.deepEqual(hashesOf(toolbox), hashesOf(notes.toolbox), 'the same tools over either transport');
      const policy = notesPolicy('mcp-http', hashesOf(toolbox));
      await withWorker(
        async (h: Harness) => {
          const run = await h.startScripted([call(READ, { name: 'plan' }), answer('read')], { policy });
          const result = await finished(run);
          assert.equal(result.outcomes[0]?.status, 'executed');
          assert.equal(result.outcomes[0]?.result, 'ship it');
        },
        { mcp: toolbox },
      );
      assert.equal(readNotes(file).calls.length, 1);
    } finally {
      await toolbox.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('MCP tools in recorded histories', () => {
  it('replays the recorded MCP run on the current workflow code, which scheduled both MCP tools', async () => {
    const name = 'mcp-read-then-destructive-approved';
    const bytes = readFileSync(join(repoRoot, 'test/histories', `${name}.pb`));
    const history = proto.temporal.api.history.v1.History.decode(bytes);
    const scheduled = (history.events ?? []).flatMap((e) => {
      const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
      return type?.startsWith('mcp__') === true ? [type] : [];
    });
    assert.deepEqual(scheduled, [READ, DELETE]);
    const ids = JSON.parse(readFileSync(join(repoRoot, 'test/histories/workflow-ids.json'), 'utf8')) as Record<
      string,
      string
    >;
    const { bundle } = await sharedEnv();
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, ids[name]);
  });
});

describe('MCP settings and policy entries', () => {
  it('refuses a settings file with an unknown key, naming the file, the line and the key', () => {
    const file = join(tempDir('hitl-mcp-settings-'), 'mcp.yaml');
    writeFileSync(file, 'servers:\n  notes:\n    transport: stdio\n    comand: node\n');
    assert.throws(
      () => resolveMcpSettings({ path: file }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message.includes(file) &&
        /servers\.notes/.test(err.message) &&
        /comand/.test(err.message),
    );
  });

  it('takes HITL_MCP when no path is given, and none when it is unset', () => {
    const file = join(tempDir('hitl-mcp-settings-'), 'mcp.json');
    writeFileSync(file, JSON.stringify({ servers: { api: { transport: 'http', url: 'http://127.0.0.1:7452/mcp' } } }));
    assert.equal(resolveMcpSettings({ env: { HITL_MCP: file } })?.settings.servers['api']?.transport, 'http');
    assert.equal(resolveMcpSettings({ env: {} }), undefined);
  });

  it('refuses a policy whose MCP entry acknowledges no well-formed hash', () => {
    const parsed = PolicySchema.safeParse({
      ...example,
      mcp: { notes: { tools: { read_note: { gate: 'auto', sha256: 'abc' } } } },
    });
    assert.equal(parsed.success, false);
    assert.match(JSON.stringify(parsed.error?.issues), /mcp.*notes.*tools.*read_note.*sha256|SHA-256/);
  });

  it('names an unreachable server in the error when the worker starts', async () => {
    await assert.rejects(
      McpToolbox.connect(
        parseMcpSettings({ servers: { gone: { transport: 'http', url: 'http://127.0.0.1:7453/mcp' } } }),
      ),
      (err: unknown) => err instanceof ConfigError && /MCP server gone \(http\) cannot be reached/.test(err.message),
    );
  });
});
