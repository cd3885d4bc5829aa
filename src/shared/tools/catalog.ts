import type { z } from 'zod';
import type { ToolDefinition } from './types';
import { billingTools } from './billing';

/** Names of the catalog's tools; each is also the activity type that runs it. */
export type ToolName = (typeof billingTools)[number]['name'];

/** Activity types of the catalog's prechecks (context refresh after a wait). */
export type PrecheckName = NonNullable<(typeof billingTools)[number]['precheck']>;

/** A catalog tool: a {@link ToolDefinition} whose name and precheck are the catalog's own. */
export type CatalogTool = ToolDefinition<z.ZodType, ToolName, PrecheckName>;

/**
 * The tool catalog: every tool the agent may call, with its risk classification. One table a reviewer can read:
 *
 * | tool                      | reversibility        | blast radius   | external effects | financial |
 * |---------------------------|----------------------|----------------|------------------|-----------|
 * | find_customers            | reversible (read)    | none           | –                | –         |
 * | list_invoices             | reversible (read)    | none           | –                | –         |
 * | get_invoice               | reversible (read)    | none           | –                | –         |
 * | update_customer_contact   | partially_reversible | single_record  | –                | –         |
 * | send_email                | irreversible         | single_record  | email            | –         |
 * | issue_refund              | irreversible         | single_record  | payment          | refund    |
 * | delete_customer           | irreversible         | customer       | –                | –         |
 *
 * The authoritative values are the `classification` fields in `src/shared/tools/billing.ts`; a test keeps this table true.
 */
export const toolCatalog: ReadonlyMap<string, CatalogTool> = new Map(
  (billingTools as readonly CatalogTool[]).map((t) => [t.name, t]),
);

/**
 * Looks a tool up by name.
 * @param name - tool name as the model sent it
 * @returns the definition, or `undefined` for a name the catalog does not know
 */
export function findTool(name: string): CatalogTool | undefined {
  return toolCatalog.get(name);
}

/** Names of every tool in the catalog, in catalog order. */
export const toolNames: readonly ToolName[] = [...toolCatalog.keys()] as ToolName[];

/** Activity types of every precheck in the catalog. */
export const precheckNames: readonly PrecheckName[] = [...toolCatalog.values()].flatMap((t) =>
  t.precheck !== undefined ? [t.precheck] : [],
);
