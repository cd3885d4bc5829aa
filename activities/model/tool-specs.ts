import { ApplicationFailure } from '@temporalio/common';
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import type { FunctionParameters } from 'openai/resources/shared';
import { z } from 'zod';
import { FailureType } from '../../src/shared/errors';
import { findTool } from '../../src/shared/tools/catalog';
import { modelInputSchema, type McpToolDefinition } from '../../src/shared/tools/mcp';

/**
 * The argument in which the `openai` provider asks the model for the alternatives it considered, beside the tool's own
 * arguments. The provider takes it out before the workflow parses the call (see {@link takeAlternatives}).
 */
export const ALTERNATIVES_ARGUMENT = 'alternatives';

const alternativesParameter = {
  type: 'array',
  items: { type: 'string', maxLength: 300 },
  maxItems: 5,
  description:
    'Optional: what else you considered instead of this call, one short sentence each. Not passed to the tool.',
};

/** Whether the tool has an argument of its own named {@link ALTERNATIVES_ARGUMENT} (then it is left alone). */
function ownsAlternatives(name: string): boolean {
  const tool = findTool(name);
  const schema = tool !== undefined ? z.toJSONSchema(tool.parameters, { io: 'input' }) : {};
  const properties = (schema as { properties?: Record<string, unknown> }).properties ?? {};
  return ALTERNATIVES_ARGUMENT in properties;
}

/**
 * Takes the alternatives the model wrote beside a call's arguments out of them: structured output for the approval
 * request, and arguments exactly as the tool's schema expects.
 * @param name - the tool the model called
 * @param args - the raw JSON text of the arguments
 * @returns the arguments without the extra key (unchanged text when there was none, when the text is not a JSON
 *   object, or when the tool has such an argument itself) and the alternatives when they were a list of strings
 */
export function takeAlternatives(name: string, args: string): { arguments: string; alternatives?: string[] } {
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch {
    return { arguments: args };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !(ALTERNATIVES_ARGUMENT in value)) {
    return { arguments: args };
  }
  if (findTool(name) === undefined || ownsAlternatives(name)) return { arguments: args };
  const { [ALTERNATIVES_ARGUMENT]: given, ...rest } = value as Record<string, unknown>;
  const list = z.array(z.string()).safeParse(given);
  return { arguments: JSON.stringify(rest), ...(list.success ? { alternatives: list.data } : {}) };
}

/**
 * Builds the chat-completions `tools` array for the named catalog tools, in the order given.
 *
 * `parameters` is the JSON Schema of the tool's zod schema as the model must write it (`io: 'input'`, so fields with
 * defaults are optional), without the `$schema` key. JSON Schema cannot express zod refinements (e.g.
 * `update_customer_contact`'s "at least one of email, phone, address") or transforms such as `.trim()`: the
 * workflow's zod parse still enforces them and reports violations back to the model.
 *
 * An MCP tool's `parameters` are the JSON Schema its server declared, without the argument that carries the
 * idempotency key (the run fills that in). Each tool's parameters also offer the optional
 * {@link ALTERNATIVES_ARGUMENT}, so the model can state what else it considered as structured output rather than in
 * its text.
 *
 * @param names - tool names offered to the model: the catalog's and the worker's MCP tools
 * @param mcpTools - the MCP tools the worker listed (default none)
 * @returns one `{ type: 'function', function: { name, description, parameters } }` per name
 * @throws ApplicationFailure type `UnknownTool` (non-retryable) when a name is neither in the catalog nor an MCP tool
 */
export function buildToolSpecs(
  names: readonly string[],
  mcpTools: readonly McpToolDefinition[] = [],
): ChatCompletionFunctionTool[] {
  return names.map((name) => {
    const tool = findTool(name);
    const mcp = tool === undefined ? mcpTools.find((d) => d.name === name) : undefined;
    if (mcp !== undefined) {
      const parameters = { ...modelInputSchema(mcp) };
      delete parameters['$schema'];
      return { type: 'function', function: { name, description: mcp.description, parameters } };
    }
    if (tool === undefined) {
      throw ApplicationFailure.nonRetryable(`tool "${name}" is not in the catalog`, FailureType.UnknownTool);
    }
    // OpenAI wants a bare object schema; the draft marker is noise to it.
    const parameters: FunctionParameters = { ...z.toJSONSchema(tool.parameters, { io: 'input' }) };
    delete parameters['$schema'];
    const properties = parameters['properties'] as Record<string, unknown> | undefined;
    if (properties !== undefined && !(ALTERNATIVES_ARGUMENT in properties)) {
      parameters['properties'] = { ...properties, [ALTERNATIVES_ARGUMENT]: alternativesParameter };
    }
    return { type: 'function', function: { name: tool.name, description: tool.description, parameters } };
  });
}
