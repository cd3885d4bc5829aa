import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import Database from 'better-sqlite3';
import { ConfigError, FailureType } from '../shared/errors';
import { chainHash, EMPTY_TRANSCRIPT_HASH, type TranscriptAppend } from '../shared/model/transcript';
import { ScenarioSchema, type ChatMessage, type Scenario } from '../shared/model/types';

/** Environment variable naming the transcript store's SQLite file. */
export const TRANSCRIPT_DB_ENV = 'HITL_TRANSCRIPT_DB';

/** The store used when neither an option nor `HITL_TRANSCRIPT_DB` names one. */
export const DEFAULT_TRANSCRIPT_DB_PATH = fileURLToPath(new URL('../../.data/transcripts.sqlite', import.meta.url));

/** A run's conversation as the model reads it, and the scripted scenario when the run has one. */
export interface StoredConversation {
  messages: ChatMessage[];
  scenario: Scenario | undefined;
}

/**
 * Where runs keep their conversations, outside the workflow history: the workflow sends only what is new each model
 * call, with the position and the chain hash of what is stored before it (`src/shared/model/transcript.ts`), so the history
 * grows by one step's messages per step instead of by the whole conversation.
 */
export interface TranscriptStore {
  /**
   * Writes `append.append` at `append.at` (replacing anything stored at or after it) and reads the whole conversation,
   * in one transaction.
   * @param append - position, prefix hash and messages
   * @param scenario - the scripted model's scenario, sent with a run's first call; kept for its later calls
   * @returns every message of the run, in order, and its scenario if any
   * @throws ApplicationFailure `TranscriptMissing` (retryable: another worker's store may have it) when fewer than
   *   `append.at` messages are stored for the run
   * @throws ApplicationFailure `TranscriptMismatch` (non-retryable) when the stored messages do not hash to
   *   `append.prefixHash`: the store does not hold the conversation the workflow built
   */
  extend(append: TranscriptAppend, scenario?: Scenario): StoredConversation;
  /**
   * Every stored message of a run, in order (empty for a run the store does not know).
   * @param key - the run's key (its first execution's run id)
   */
  messages(key: string): ChatMessage[];
  /** Closes the database. */
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS hitl_transcript (
  run_key    TEXT    NOT NULL,
  seq        INTEGER NOT NULL,
  message    TEXT    NOT NULL,
  chain_hash TEXT    NOT NULL,
  PRIMARY KEY (run_key, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hitl_transcript_scenario (
  run_key  TEXT PRIMARY KEY,
  scenario TEXT NOT NULL
) WITHOUT ROWID;
`;

/**
 * Opens (creating if needed) the transcript store on a SQLite file: explicit path, then `HITL_TRANSCRIPT_DB`, then
 * `.data/transcripts.sqlite`. Workers on several hosts need one shared store; this SQLite one serves one host.
 * @param path - the file; `:memory:` for a private in-memory store
 * @returns the store
 * @throws ConfigError when the file cannot be opened or created
 */
export function openTranscriptStore(path?: string): TranscriptStore {
  const file = transcriptStorePath(path);
  let db: Database.Database;
  try {
    if (file !== ':memory:') mkdirSync(dirname(resolve(file)), { recursive: true });
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
  } catch (err) {
    throw new ConfigError(`cannot open the transcript store ${file}: ${(err as Error).message}`, { cause: err });
  }
  const hashAt = db.prepare<[string, number], string>(
    'SELECT chain_hash FROM hitl_transcript WHERE run_key = ? AND seq = ?',
  );
  const count = db.prepare<[string], number>('SELECT COUNT(*) FROM hitl_transcript WHERE run_key = ?');
  const truncate = db.prepare<[string, number]>('DELETE FROM hitl_transcript WHERE run_key = ? AND seq >= ?');
  const insert = db.prepare<[string, number, string, string]>(
    'INSERT INTO hitl_transcript (run_key, seq, message, chain_hash) VALUES (?, ?, ?, ?)',
  );
  const all = db.prepare<[string], string>('SELECT message FROM hitl_transcript WHERE run_key = ? ORDER BY seq');
  const saveScenario = db.prepare<[string, string]>(
    'INSERT OR REPLACE INTO hitl_transcript_scenario (run_key, scenario) VALUES (?, ?)',
  );
  const readScenario = db.prepare<[string], string>('SELECT scenario FROM hitl_transcript_scenario WHERE run_key = ?');
  for (const statement of [hashAt, count, all, readScenario]) statement.pluck();

  const extend = db.transaction((append: TranscriptAppend, scenario: Scenario | undefined): StoredConversation => {
    const { key, at } = append;
    if (at > 0) {
      const stored = hashAt.get(key, at - 1);
      if (stored === undefined) {
        throw ApplicationFailure.retryable(
          `the transcript store ${file} has ${count.get(key) ?? 0} message(s) of run ${key}; the workflow expects ${at}`,
          FailureType.TranscriptMissing,
        );
      }
      if (stored !== append.prefixHash) {
        throw ApplicationFailure.nonRetryable(
          `the transcript of run ${key} in ${file} differs from the workflow's at message ${at}: ` +
            `stored hash ${stored.slice(0, 12)}…, expected ${append.prefixHash.slice(0, 12)}…`,
          FailureType.TranscriptMismatch,
        );
      }
    }
    truncate.run(key, at);
    let hash = at > 0 ? append.prefixHash : EMPTY_TRANSCRIPT_HASH;
    append.append.forEach((message, i) => {
      hash = chainHash(hash, message);
      insert.run(key, at + i, JSON.stringify(message), hash);
    });
    if (scenario !== undefined) saveScenario.run(key, JSON.stringify(scenario));
    const storedScenario = readScenario.get(key);
    return {
      messages: all.all(key).map((text) => JSON.parse(text) as ChatMessage),
      scenario: storedScenario !== undefined ? ScenarioSchema.parse(JSON.parse(storedScenario)) : undefined,
    };
  });

  return {
    extend: (append, scenario) => extend(append, scenario),
    messages: (key) => all.all(key).map((text) => JSON.parse(text) as ChatMessage),
    close: () => db.close(),
  };
}

/**
 * The store's file: the explicit path, then `HITL_TRANSCRIPT_DB`, then `.data/transcripts.sqlite`.
 * @param path - an explicit file
 */
export function transcriptStorePath(path?: string): string {
  return path ?? (process.env[TRANSCRIPT_DB_ENV]?.trim() || DEFAULT_TRANSCRIPT_DB_PATH);
}
