import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import {
  buildTurnSchema,
  GRAMMAR_MAX_STRING,
  plainIntegers,
  readStructuredTurn,
  recordedOutcomes,
  toGrammarSchema,
  toolGuide,
  writeStructuredTurn,
} from '../activities/model/local-grammar';
import { toChatHistory } from '../activities/model/local';
import { boundAlternatives, proposedAlternatives, MAX_ALTERNATIVES } from '../src/shared/model/alternatives';
import { boundModelTurn } from '../src/shared/model/limits';
import { toolResultText } from '../src/shared/model/tool-result';
import { toolNames } from '../src/shared/tools/catalog';
import { parseProposedCall } from '../src/shared/tools/parse-call';
import type { McpToolDefinition } from '../src/shared/tools/mcp';

type Node = Record<string, unknown>;

/** Every node of a grammar schema, depth first. */
function nodes(schema: unknown): Node[] {
  const out: Node[] = [];
  const walk = (n: unknown): void => {
    if (n === null || typeof n !== 'object') return;
    out.push(n as Node);
    const o = n as Node;
    for (const v of Object.values((o['properties'] as Node | undefined) ?? {})) walk(v);
    if (o['items'] !== undefined) walk(o['items']);
    for (const v of (o['oneOf'] as unknown[] | undefined) ?? []) walk(v);
  };
  walk(schema);
  return out;
}

describe('the local model grammar', () => {
  it('has one tool-call variant per offered tool and a final answer, each closed to extra keys', () => {
    const schema = buildTurnSchema(toolNames) as unknown as { oneOf: Node[] };
    assert.equal(schema.oneOf.length, toolNames.length + 1);
    const tools = schema.oneOf.map((v) => ((v['properties'] as Node)['tool'] as Node | undefined)?.['const']);
    assert.deepEqual(tools.slice(0, -1), [...toolNames]);
    assert.deepEqual((schema.oneOf.at(-1)?.['required'] as string[]).sort(), ['final', 'reasoning']);
    const alternatives = (schema.oneOf[0]?.['properties'] as Node)['alternatives'] as Node;
    assert.equal(alternatives['minItems'], 1, 'every proposed call comes with at least one alternative');
    for (const n of nodes(schema)) if (n['type'] === 'object') assert.equal(n['additionalProperties'], false);
  });

  it('leaves the final answer out until a tool has answered', () => {
    const schema = buildTurnSchema(['get_invoice'], false) as unknown as Node;
    assert.equal(((schema['properties'] as Node)['tool'] as Node)['const'], 'get_invoice');
    assert.equal(schema['oneOf'], undefined);
  });

  it("keeps each tool's required arguments and types, and bounds every string and array", () => {
    const schema = buildTurnSchema(['issue_refund', 'send_email'], false) as unknown as { oneOf: Node[] };
    const refundArgs = (schema.oneOf[0]?.['properties'] as Node)['arguments'] as Node;
    assert.deepEqual(refundArgs['required'], ['invoiceId', 'amountCents', 'reason']);
    assert.equal(((refundArgs['properties'] as Node)['amountCents'] as Node)['type'], 'integer');
    for (const n of nodes(schema)) {
      if (n['type'] === 'string') assert.ok((n['maxLength'] as number) <= GRAMMAR_MAX_STRING, JSON.stringify(n));
      if (n['type'] === 'array') assert.equal(typeof n['maxItems'], 'number');
      // Constraints a grammar cannot hold are left to the workflow's zod parse.
      assert.equal(n['pattern'], undefined);
      assert.equal(n['format'], undefined);
      assert.equal(n['minimum'], undefined);
    }
  });

  it('narrows the integer rule of a generated grammar to plain digits, and leaves other text alone', () => {
    const gbnf = [
      'root ::= rule0',
      'integer-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,15}) ([eE] [-+]? ("0" | [1-9] [0-9]{0,15}))?',
    ].join('\n');
    assert.equal(plainIntegers(gbnf), 'root ::= rule0\ninteger-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,15})');
    assert.equal(plainIntegers('root ::= "x"'), 'root ::= "x"');
  });

  it('refuses a schema construct with no grammar form, and a tool the catalog does not know', () => {
    assert.throws(() => toGrammarSchema({ $ref: '#/x' }), /no grammar form/);
    assert.throws(() => toGrammarSchema({ type: 'object' }), /properties/);
    assert.throws(
      () => buildTurnSchema(['drop_tables']),
      (e: unknown) => e instanceof ApplicationFailure && e.type === 'UnknownTool',
    );
  });

  it('reads a tool call into a call the workflow parses, with its reasoning and structured alternatives', () => {
    const text = JSON.stringify({
      reasoning: 'Invoice 1 was charged twice.',
      tool: 'issue_refund',
      arguments: { invoiceId: 1, amountCents: 992, reason: 'duplicate charge' },
      alternatives: ['a store credit', 'ask finance first'],
    });
    const turn = readStructuredTurn(text, 3);
    assert.equal(turn?.content, 'Invoice 1 was charged twice.');
    const call = turn?.toolCalls[0];
    assert.equal(call?.id, 'call_3_1');
    assert.deepEqual(call?.alternatives, ['a store credit', 'ask finance first']);
    assert.ok(call !== undefined && parseProposedCall(call).ok);
  });

  it('reads a final answer, and refuses a reply cut off before it was complete', () => {
    assert.deepEqual(readStructuredTurn('{"reasoning": "done", "final": " All refunded. "}', 2), {
      content: 'All refunded.',
      toolCalls: [],
    });
    assert.equal(readStructuredTurn('{"reasoning": "I will refund invoice 1 and', 2), undefined);
    assert.equal(readStructuredTurn('{"reasoning": "x", "final": "y", "extra": 1}', 2), undefined);
  });

  it('writes earlier turns back in the shape the model writes them', () => {
    const calls = [{ id: 'c1', name: 'get_invoice', arguments: '{"invoiceId":1}', alternatives: ['none'] }];
    assert.deepEqual(JSON.parse(writeStructuredTurn('Checking.', calls)), {
      reasoning: 'Checking.',
      tool: 'get_invoice',
      arguments: { invoiceId: 1 },
      alternatives: ['none'],
    });
    assert.deepEqual(JSON.parse(writeStructuredTurn('Done.', [])), { reasoning: '', final: 'Done.' });
  });

  it('turns the conversation into a chat history whose prompt is the latest tool results', () => {
    const ok = toolResultText({ status: 'ok', result: { total: 992 } });
    const rejected = toolResultText({ status: 'rejected', message: 'rejected by alice' });
    const { history, prompt } = toChatHistory(
      [
        { role: 'system', content: 'Be careful.' },
        { role: 'user', content: 'Refund invoice 1.' },
        { role: 'assistant', content: 'Reading.', toolCalls: [{ id: 'a', name: 'get_invoice', arguments: '{}' }] },
        { role: 'tool', toolCallId: 'a', name: 'get_invoice', content: ok },
        { role: 'tool', toolCallId: 'b', name: 'issue_refund', content: rejected },
      ],
      toolGuide(['get_invoice']),
    );
    assert.deepEqual(
      history.map((h) => h.type),
      ['system', 'user', 'model'],
    );
    assert.match(
      history[0]?.type === 'system' ? JSON.stringify(history[0].text) : '',
      /Be careful\.[\s\S]*get_invoice\(invoiceId: integer\)/,
    );
    assert.equal(prompt, `Result of get_invoice: ${ok}\nResult of issue_refund: ${rejected}`);
  });

  it('states the recorded outcome of every tool call, so a final answer cannot claim more', () => {
    const messages = [
      {
        role: 'tool' as const,
        toolCallId: 'a',
        name: 'get_invoice',
        content: toolResultText({ status: 'ok', result: 1 }),
      },
      {
        role: 'tool' as const,
        toolCallId: 'b',
        name: 'issue_refund',
        content: toolResultText({ status: 'rejected', message: 'no' }),
      },
    ];
    assert.equal(
      recordedOutcomes(messages),
      "Recorded outcomes of this run's tool calls: get_invoice ok; issue_refund rejected.",
    );
    assert.equal(recordedOutcomes([]), 'Recorded outcomes: no tool call was made.');
  });
});

describe('structured alternatives', () => {
  it("take the provider's field over the text's Alternative: lines", () => {
    assert.deepEqual(proposedAlternatives(['a store credit'], 'Refund.\nAlternative: a voucher'), ['a store credit']);
    assert.deepEqual(proposedAlternatives([], 'Refund.\nAlternative: a voucher'), []);
  });

  it('fall back to the Alternative: lines when the provider has no such field', () => {
    assert.deepEqual(proposedAlternatives(undefined, 'Refund.\nAlternative: a voucher'), ['a voucher']);
  });

  it('are bounded like those in text: trimmed, no empties, at most five of at most 300 characters', () => {
    const many = ['  a  ', '', 'b', 'c', 'd', 'e', 'f', 'x'.repeat(400)];
    const bounded = boundAlternatives(many);
    assert.equal(bounded.length, MAX_ALTERNATIVES);
    assert.equal(bounded[0], 'a');
    assert.ok(boundAlternatives(['x'.repeat(400)])[0]?.length === 300);
  });

  it('are bounded by the model activity before they reach the workflow', () => {
    const turn = boundModelTurn({
      content: 'why',
      toolCalls: [{ id: 'c', name: 'get_invoice', arguments: '{"invoiceId":1}', alternatives: [' a ', ...'bcdefg'] }],
      usage: { promptTokens: 0, completionTokens: 0 },
    });
    assert.deepEqual(turn.toolCalls[0]?.alternatives, ['a', 'b', 'c', 'd', 'e']);
    const untouched = {
      content: null,
      toolCalls: [{ id: 'c', name: 'x', arguments: '{}', alternatives: ['a'] }],
      usage: { promptTokens: 0, completionTokens: 0 },
    };
    assert.equal(boundModelTurn(untouched), untouched);
  });
});

describe('the local model and MCP tools', () => {
  const note = (tool: string, inputSchema: Record<string, unknown>, idempotencyArg?: string): McpToolDefinition => ({
    server: 'notes',
    tool,
    name: `mcp__notes__${tool}`,
    description: `the ${tool} tool\nof the notes server`,
    inputSchema,
    annotations: { readOnlyHint: true },
    ...(idempotencyArg !== undefined ? { idempotencyArg } : {}),
    sha256: '0'.repeat(64),
  });
  const write = note(
    'write_note',
    {
      type: 'object',
      properties: { title: { type: 'string' }, idempotency_key: { type: 'string' } },
      required: ['title', 'idempotency_key'],
    },
    'idempotency_key',
  );
  const open = note('open_object', { type: 'object', additionalProperties: true });

  it('offers an MCP tool under its server schema, without the idempotency key argument', () => {
    const schema = buildTurnSchema(['get_invoice', write.name], false, [write]) as unknown as {
      oneOf: Record<string, unknown>[];
    };
    const variant = schema.oneOf.find((v) => JSON.stringify(v).includes(write.name)) as {
      properties: { arguments: { properties: Record<string, unknown>; required: string[] } };
    };
    assert.ok(variant, 'a variant for the MCP tool');
    assert.deepEqual(Object.keys(variant.properties.arguments.properties), ['title']);
    assert.deepEqual(variant.properties.arguments.required, ['title']);
    const guide = toolGuide([write.name], [write]);
    assert.match(guide, /- mcp__notes__write_note\(title: string\): the write_note tool of the notes server/);
  });

  it('leaves out an MCP tool whose schema has no grammar form, and refuses a name it does not know', () => {
    const schema = buildTurnSchema(['get_invoice', open.name], false, [open]);
    assert.ok(!JSON.stringify(schema).includes(open.name));
    assert.throws(
      () => buildTurnSchema(['mcp__notes__missing'], false, [open]),
      (err: unknown) => err instanceof ApplicationFailure && err.type === 'UnknownTool',
    );
  });
});
