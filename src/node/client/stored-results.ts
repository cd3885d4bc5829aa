import { existsSync } from 'node:fs';
import { canonicalJson, sha256Hex } from '../../shared/hash';
import { parseToolResultText } from '../../shared/model/tool-result';
import type { AgentRunResult, ToolOutcome } from '../../shared/run-state';
import { openTranscriptStore, transcriptStorePath } from '../transcript-store';

/**
 * Fills in the large results a run kept by reference (`resultRef`): each is read from the `tool` message of its call in
 * the transcript store and checked against the reference's SHA-256 before it is used. A result the store does not
 * have (another host's store, or a run that ended before the model read it) keeps only its reference.
 *
 * @param result - a run's result, e.g. from `runResult`
 * @param path - the transcript store's file (default `HITL_TRANSCRIPT_DB`, else `.data/transcripts.sqlite`)
 * @returns the result with every result it could read filled in, and how many references stay unresolved
 * @example const { result } = withStoredResults(await runResult(client, 'agent-abc'));
 */
export function withStoredResults(
  result: AgentRunResult,
  path?: string,
): { result: AgentRunResult; unresolved: number } {
  const refs = result.outcomes.filter((o) => o.resultRef !== undefined);
  const file = transcriptStorePath(path);
  if (refs.length === 0) return { result, unresolved: 0 };
  if (result.transcriptKey === undefined || (file !== ':memory:' && !existsSync(file))) {
    return { result, unresolved: refs.length };
  }
  const store = openTranscriptStore(file);
  try {
    const candidates = store
      .messages(result.transcriptKey)
      .flatMap((m) =>
        m.role === 'tool' ? [{ toolCallId: m.toolCallId, content: parseToolResultText(m.content) }] : [],
      );
    let unresolved = 0;
    const outcomes = result.outcomes.map((o): ToolOutcome => {
      const ref = o.resultRef;
      if (ref === undefined) return o;
      const found = candidates.find(
        (c) =>
          c.toolCallId === o.toolCallId &&
          c.content?.status === 'ok' &&
          sha256Hex(canonicalJson(c.content.result)) === ref.sha256,
      );
      if (found?.content?.status !== 'ok') {
        unresolved += 1;
        return o;
      }
      return { ...o, result: found.content.result };
    });
    return { result: { ...result, outcomes }, unresolved };
  } finally {
    store.close();
  }
}
