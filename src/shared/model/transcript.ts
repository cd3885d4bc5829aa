import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { canonicalJson } from '../hash';
import type { ChatMessage } from './types';

/** The chain hash of an empty transcript. */
export const EMPTY_TRANSCRIPT_HASH = '';

/**
 * Extends a transcript's chain hash by one message: SHA-256 of the previous hash, a newline and the message's canonical
 * JSON, as 64 hex characters. The workflow and the transcript store compute it alike, so the store can prove it holds
 * exactly the conversation the workflow built (a hash chain, as in an append-only log). Deterministic: safe in
 * workflow code.
 * @param previous - the hash after the messages before this one ({@link EMPTY_TRANSCRIPT_HASH} for the first)
 * @param message - the next message
 */
export function chainHash(previous: string, message: ChatMessage): string {
  return bytesToHex(sha256(utf8ToBytes(`${previous}\n${canonicalJson(message)}`)));
}

/** Where a run's conversation stands in the transcript store, as the workflow tracks it. */
export interface TranscriptRef {
  /** The run's key in the store: its first execution's run id, the same across continue-as-new. */
  key: string;
  /** Messages already stored. */
  length: number;
  /** Chain hash after those messages. */
  hash: string;
}

/**
 * What a model call adds to the transcript before the model reads it: `append` goes at position `at`, after the
 * stored messages whose chain hash is `prefixHash`. Anything stored at `at` or later (left by an attempt whose result
 * was never recorded) is replaced.
 */
export interface TranscriptAppend {
  key: string;
  at: number;
  prefixHash: string;
  append: ChatMessage[];
}

/**
 * The reference after an append.
 * @param ref - where the transcript stood
 * @param append - the messages added
 */
export function advance(ref: TranscriptRef, append: readonly ChatMessage[]): TranscriptRef {
  let hash = ref.hash;
  for (const message of append) hash = chainHash(hash, message);
  return { key: ref.key, length: ref.length + append.length, hash };
}
