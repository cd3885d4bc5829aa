import { ApplicationFailure } from '@temporalio/common';
import type { GbnfJsonSchema } from 'node-llama-cpp';
import { z } from 'zod';
import { FailureType } from '../../src/shared/errors';
import { MAX_ALTERNATIVES } from '../../src/shared/model/alternatives';
import type { ChatMessage, ToolCall } from '../../src/shared/model/types';
import { parseToolResultText } from '../../src/shared/model/tool-result';
import { findTool } from '../../src/shared/tools/catalog';
import { modelInputSchema, type McpToolDefinition } from '../../src/shared/tools/mcp';

/**
 * Longest string the grammar lets the model write (characters). Small models ramble; a bound keeps every reply short
 * enough to finish within the token budget, so it always parses. A tool whose schema allows less keeps its own bound.
 */
export const GRAMMAR_MAX_STRING = 240;
/** Longest array the grammar lets the model write (items), unless the tool's schema allows fewer. */
export const GRAMMAR_MAX_ITEMS = 8;
/** Longest reasoning in a structured turn (characters). */
export const REASONING_MAX_CHARS = 240;
/** Longest final answer in a structured turn (characters). */
export const FINAL_MAX_CHARS = 300;
/** Longest alternative in a structured turn (characters). */
export const ALTERNATIVE_MAX_CHARS = 160;

/** JSON Schema, as zod 4's `z.toJSONSchema` writes it, loosely typed for reading. */
type JsonSchema = Record<string, unknown>;

/**
 * Converts the JSON Schema of a tool's arguments into the subset node-llama-cpp turns into a grammar: objects (with
 * `required` and no extra keys), arrays, strings, integers, numbers, booleans, null, `enum`, `const` and unions.
 * Constraints the grammar cannot hold (`minimum`, `pattern`, `format: email`…) are left out, and strings and arrays get
 * at most {@link GRAMMAR_MAX_STRING} characters and {@link GRAMMAR_MAX_ITEMS} items: the output always parses as JSON
 * of the right shape, and the workflow's zod parse still checks every constraint and tells the model what it broke.
 * @param schema - a JSON Schema node
 * @param where - the node's path, for the error message
 * @returns the grammar schema
 * @throws Error when the schema uses a construct with no grammar form (e.g. `$ref`, `allOf`, an object without
 *   `properties`); a catalog tool never does, and a unit test keeps it so
 */
export function toGrammarSchema(schema: JsonSchema, where = '$'): GbnfJsonSchema {
  const description = typeof schema['description'] === 'string' ? { description: schema['description'] } : {};
  if ('const' in schema) return { const: schema['const'] as string | number | boolean | null, ...description };
  if (Array.isArray(schema['enum'])) {
    return { enum: schema['enum'] as (string | number | boolean | null)[], ...description };
  }
  const union = schema['anyOf'] ?? schema['oneOf'];
  if (Array.isArray(union)) {
    return { oneOf: (union as JsonSchema[]).map((s, i) => toGrammarSchema(s, `${where}|${i}`)), ...description };
  }
  switch (schema['type']) {
    case 'object': {
      const properties = schema['properties'] as Record<string, JsonSchema> | undefined;
      if (properties === undefined) throw new Error(`${where}: an object needs its properties for a grammar`);
      const required = Array.isArray(schema['required']) ? (schema['required'] as string[]) : [];
      return {
        type: 'object',
        properties: Object.fromEntries(
          Object.entries(properties).map(([k, v]) => [k, toGrammarSchema(v, `${where}.${k}`)]),
        ),
        required,
        additionalProperties: false,
        ...description,
      };
    }
    case 'array': {
      const items = schema['items'] as JsonSchema | undefined;
      if (items === undefined) throw new Error(`${where}: an array needs its items for a grammar`);
      const min = typeof schema['minItems'] === 'number' ? schema['minItems'] : 0;
      const max = Math.max(min, Math.min(GRAMMAR_MAX_ITEMS, num(schema['maxItems']) ?? GRAMMAR_MAX_ITEMS));
      return {
        type: 'array',
        items: toGrammarSchema(items, `${where}[]`),
        minItems: min,
        maxItems: max,
        ...description,
      };
    }
    case 'string': {
      const min = num(schema['minLength']) ?? 0;
      const max = Math.max(min, Math.min(GRAMMAR_MAX_STRING, num(schema['maxLength']) ?? GRAMMAR_MAX_STRING));
      return { type: 'string', ...(min > 0 ? { minLength: min } : {}), maxLength: max, ...description };
    }
    case 'integer':
    case 'number':
    case 'boolean':
    case 'null':
      return { type: schema['type'], ...description };
    default:
      throw new Error(`${where}: no grammar form for ${JSON.stringify(schema).slice(0, 120)}`);
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** An offered tool as the local model sees it: its name, description and the grammar of its arguments. */
interface OfferedTool {
  name: string;
  description: string;
  /** The JSON Schema of its arguments as the model writes them, without the `$schema` key. */
  schema: JsonSchema;
  grammar: GbnfJsonSchema;
}

/**
 * The offered tools with their schemas: catalog tools from their zod schemas, MCP tools from the JSON Schema their
 * server declared (without the idempotency key argument). An MCP tool whose schema has no grammar form (a `$ref`, an
 * open object) is left out of what the local model is offered rather than failing the call; the other providers
 * still offer it.
 * @throws ApplicationFailure type `UnknownTool` (non-retryable) when a name is neither in the catalog nor an MCP tool
 */
function offeredTools(tools: readonly string[], mcpTools: readonly McpToolDefinition[]): OfferedTool[] {
  return tools.flatMap((name): OfferedTool[] => {
    const tool = findTool(name);
    if (tool !== undefined) {
      const schema: JsonSchema = { ...z.toJSONSchema(tool.parameters, { io: 'input' }) };
      delete schema['$schema'];
      return [{ name, description: tool.description, schema, grammar: toGrammarSchema(schema, name) }];
    }
    const mcp = mcpTools.find((d) => d.name === name);
    if (mcp === undefined) {
      throw ApplicationFailure.nonRetryable(`tool "${name}" is not in the catalog`, FailureType.UnknownTool);
    }
    const schema: JsonSchema = { ...modelInputSchema(mcp) };
    delete schema['$schema'];
    try {
      return [{ name, description: mcp.description, schema, grammar: toGrammarSchema(schema, name) }];
    } catch {
      return [];
    }
  });
}

const reasoning = { type: 'string', maxLength: REASONING_MAX_CHARS } as const;

/**
 * The schema of one structured model turn, for the local model's grammar: either a tool call
 * `{"reasoning", "tool", "arguments", "alternatives"}` (one variant per offered tool, so `arguments` always has that
 * tool's shape) or, once `allowFinal`, a final answer `{"reasoning", "final"}`. Reasoning comes first so the model
 * states why before what.
 * @param tools - names of the tools offered (catalog and MCP)
 * @param allowFinal - whether a final answer may be given (the local provider allows it once a tool has answered, so
 *   a small model cannot answer from nothing)
 * @param mcpTools - the MCP tools the worker listed (their schemas); one whose schema has no grammar form is left out
 * @returns the grammar schema (a `oneOf`, or the one tool-call variant when only one tool is offered and no final)
 * @throws ApplicationFailure type `UnknownTool` (non-retryable) when a name is neither in the catalog nor an MCP tool
 */
export function buildTurnSchema(
  tools: readonly string[],
  allowFinal = true,
  mcpTools: readonly McpToolDefinition[] = [],
): GbnfJsonSchema {
  const calls = offeredTools(tools, mcpTools).map((offered): GbnfJsonSchema => ({
    type: 'object',
    properties: {
      reasoning,
      tool: { const: offered.name },
      arguments: offered.grammar,
      alternatives: {
        type: 'array',
        items: { type: 'string', minLength: 1, maxLength: ALTERNATIVE_MAX_CHARS },
        // At least one: a reviewer should see what else the agent weighed; a small model otherwise writes none.
        minItems: 1,
        maxItems: Math.min(3, MAX_ALTERNATIVES),
      },
    },
    required: ['reasoning', 'tool', 'arguments', 'alternatives'],
    additionalProperties: false,
  }));
  const final: GbnfJsonSchema = {
    type: 'object',
    properties: { reasoning, final: { type: 'string', minLength: 1, maxLength: FINAL_MAX_CHARS } },
    required: ['reasoning', 'final'],
    additionalProperties: false,
  };
  const variants = allowFinal ? [...calls, final] : calls;
  if (variants.length === 0) throw new Error('a turn needs a tool to call or a final answer to give');
  return variants.length === 1 && variants[0] !== undefined ? variants[0] : { oneOf: variants };
}

/**
 * The tool guide the local model reads in its system prompt: each tool's name, description and argument types, and
 * the shape of a reply. Small models follow a short listing better than a JSON Schema dump.
 * @param tools - names of the tools offered (catalog and MCP)
 * @param mcpTools - the MCP tools the worker listed
 * @returns plain text
 * @throws ApplicationFailure type `UnknownTool` (non-retryable) when a name is neither in the catalog nor an MCP tool
 */
export function toolGuide(tools: readonly string[], mcpTools: readonly McpToolDefinition[] = []): string {
  const lines = offeredTools(tools, mcpTools).map((offered) => {
    const props = (offered.schema['properties'] ?? {}) as Record<string, JsonSchema>;
    const args = Object.entries(props).map(([k, v]) => `${k}: ${typeName(v)}`);
    // An MCP server's description is its own text: one line, bounded, in what the model reads.
    const description = offered.description.replace(/\s+/g, ' ').slice(0, 300);
    return `- ${offered.name}(${args.join(', ')}): ${description}`;
  });
  return [
    'Tools:',
    ...lines,
    'Reply with one JSON object. To call a tool: {"reasoning": "why", "tool": "name", "arguments": {...},',
    '"alternatives": ["what else you could do"]}. When the work is done, or cannot be done: {"reasoning": "why",',
    '"final": "what you did and what you did not do"}. Call one tool at a time; read before you act.',
    'Take names, ids and amounts from the messages above, never invent them.',
  ].join('\n');
}

function typeName(schema: JsonSchema): string {
  if (schema['type'] === 'array') return `${typeName((schema['items'] ?? {}) as JsonSchema)}[]`;
  return typeof schema['type'] === 'string' ? schema['type'] : 'value';
}

const StructuredTurnSchema = z.union([
  z.strictObject({
    reasoning: z.string(),
    tool: z.string(),
    arguments: z.record(z.string(), z.unknown()),
    alternatives: z.array(z.string()),
  }),
  z.strictObject({ reasoning: z.string(), final: z.string() }),
]);

/** A structured turn read back: the assistant's text and at most one tool call. */
export interface StructuredReply {
  /** The reasoning of a tool call, or the final answer. */
  content: string;
  toolCalls: ToolCall[];
}

/**
 * Reads what the model wrote under the {@link buildTurnSchema} grammar.
 * @param text - the generated text
 * @param step - the model call's number, for the call id (`call_<step>_1`)
 * @returns the reply, or undefined when the text is not a complete structured turn (generation stopped early)
 */
export function readStructuredTurn(text: string, step: number): StructuredReply | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = StructuredTurnSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const turn = parsed.data;
  if ('final' in turn) return { content: turn.final.trim(), toolCalls: [] };
  if (turn.tool === '') return undefined;
  return {
    content: turn.reasoning.trim(),
    toolCalls: [
      {
        id: `call_${step}_1`,
        name: turn.tool,
        arguments: JSON.stringify(turn.arguments),
        alternatives: turn.alternatives,
      },
    ],
  };
}

/**
 * What the model wrote in an earlier turn, as it would have written it under the grammar, so the conversation it
 * reads back looks like its own replies.
 * @param content - the assistant's text
 * @param calls - the turn's tool calls
 * @returns one JSON object per line: a tool call each, or the final answer when there is none
 */
export function writeStructuredTurn(content: string | null, calls: readonly ToolCall[]): string {
  if (calls.length === 0) return JSON.stringify({ reasoning: '', final: content ?? '' });
  return calls
    .map((c) => {
      let args: unknown;
      try {
        args = JSON.parse(c.arguments);
      } catch {
        args = c.arguments;
      }
      return JSON.stringify({
        reasoning: content ?? '',
        tool: c.name,
        arguments: args,
        alternatives: c.alternatives ?? [],
      });
    })
    .join('\n');
}

/**
 * What the tool results in a conversation say happened, one line per call, for the end of a local model's final answer:
 * a small model's own summary is often wrong, and a final answer must not claim what did not happen.
 * @param messages - the conversation
 * @returns e.g. "Recorded outcomes: get_invoice ok; issue_refund rejected", or a line saying no tool ran
 */
export function recordedOutcomes(messages: readonly ChatMessage[]): string {
  const outcomes = messages.flatMap((m) => {
    if (m.role !== 'tool') return [];
    const status = parseToolResultText(m.content)?.status ?? 'answered';
    return [`${m.name} ${status}`];
  });
  return outcomes.length === 0
    ? 'Recorded outcomes: no tool call was made.'
    : `Recorded outcomes of this run's tool calls: ${outcomes.join('; ')}.`;
}

/**
 * The GBNF text node-llama-cpp writes for a JSON schema, with its integer rule narrowed to plain digits: its own rule
 * also admits an exponent (`2e-17`), which parses as JSON but is no integer, so a small model that writes one gets an
 * invalid call every time. Text without that rule is returned unchanged.
 * @param gbnf - the grammar text (`LlamaJsonSchemaGrammar.grammar`)
 * @returns the grammar text with `integer-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,15})`
 */
export function plainIntegers(gbnf: string): string {
  return gbnf.replace(/^integer-number-rule ::= .*$/m, 'integer-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,15})');
}
