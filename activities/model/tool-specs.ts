import { ApplicationFailure } from '@temporalio/common';
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import type { FunctionParameters } from 'openai/resources/shared';
import { z } from 'zod';
import { FailureType } from '../../src/shared/errors';
import { findTool } from '../../src/shared/tools/catalog';
import { modelInputSchema, type McpToolDefinition } from '../../src/shared/tools/mcp';

/**
 * Builds the chat-completions `tools` array for the named catalog tools, in the order given.
 *
 * `parameters` is the JSON Schema of the tool's zod schema as the model must write it (`io: 'input'`, so fields with
 * defaults are optional), without the `$schema` key. JSON Schema cannot express zod refinements (e.g.
 * `update_customer_contact`'s "at least one of email, phone, address") or transforms such as `.trim()`: the
 * workflow's zod parse still enforces them and reports violations back to the model.
 *
 * An MCP tool's `parameters` are the JSON Schema its server declared, without the argument that carries the
 * idempotency key (the run fills that in).
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
    return { type: 'function', function: { name: tool.name, description: tool.description, parameters } };
  });
}
