// Node-only: makes sure the namespace has the search attributes the workflow writes.
import proto from '@temporalio/proto';
import { ConfigError } from '../shared/errors';
import { customSearchAttributes } from '../shared/messages';

const { IndexedValueType } = proto.temporal.api.enums.v1;

const TYPES = {
  KEYWORD: { indexed: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, cli: 'Keyword' },
  KEYWORD_LIST: { indexed: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST, cli: 'KeywordList' },
  DATETIME: { indexed: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME, cli: 'Datetime' },
} as const;

/** The part of a connection (client or native) this needs. */
export interface OperatorConnection {
  operatorService: {
    listSearchAttributes(req: { namespace: string }): Promise<{ customAttributes?: Record<string, unknown> | null }>;
    addSearchAttributes(req: { namespace: string; searchAttributes: Record<string, number> }): Promise<unknown>;
  };
}

/**
 * Registers the project's search attributes on the namespace when some are missing (a dev server started before
 * they existed). A workflow that writes an unregistered attribute fails its task, so a worker checks at its start.
 * @param connection - a client or worker connection
 * @param namespace - the namespace runs use
 * @returns the names it registered (empty when all were there)
 * @throws ConfigError naming the missing attributes and the commands that register them, when the server refuses
 *   (no operator permission: register them once as an operator)
 */
export async function ensureSearchAttributes(connection: OperatorConnection, namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = customSearchAttributes.filter((k) => customAttributes?.[k.name] === undefined);
  if (missing.length === 0) return [];
  const types = (k: (typeof customSearchAttributes)[number]) => TYPES[k.type];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, types(k).indexed])),
    });
  } catch (err) {
    const commands = missing
      .map(
        (k) =>
          `temporal operator search-attribute create --namespace ${namespace} --name ${k.name} --type ${types(k).cli}`,
      )
      .join('\n  ');
    const why = err instanceof Error ? err.message : String(err);
    throw new ConfigError(
      `namespace ${namespace} lacks the search attributes ${missing.map((k) => k.name).join(', ')}, and registering ` +
        `them failed (${why}); register them once as an operator:\n  ${commands}`,
      { cause: err },
    );
  }
  return missing.map((k) => k.name);
}
