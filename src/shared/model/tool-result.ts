import { z } from 'zod';
import { canonicalJson, sha256Hex, utf8Length } from '../hash';

/**
 * What the model reads as a tool's result. The workflow writes it as the JSON text of a `tool` message, so the
 * outcome of every call, including rejections and expiries, reaches the model in one machine-readable shape.
 *
 * - `ok`: the tool ran; `result` is its data.
 * - `rejected`: a person rejected the call; `message` reads "rejected by alice: reason …".
 * - `expired`: nobody decided before the deadline; the call was denied and did not run.
 * - `feedback`: a person answered with feedback instead of deciding; the call did not run.
 * - `denied`: the policy does not allow the tool (or these arguments); the call did not run.
 * - `error`: the call did not run or failed (bad arguments, unknown tool, refused by the tool).
 */
export const ToolResultContentSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('ok'), result: z.unknown() }),
  z.object({ status: z.literal('rejected'), message: z.string() }),
  z.object({ status: z.literal('expired'), message: z.string() }),
  z.object({ status: z.literal('feedback'), message: z.string() }),
  z.object({ status: z.literal('denied'), message: z.string() }),
  z.object({ status: z.literal('error'), message: z.string() }),
]);

/** Parsed tool-result content. */
export type ToolResultContent = z.infer<typeof ToolResultContentSchema>;

/**
 * Serialises a tool result for a `tool` message.
 * @param content - the outcome
 * @returns JSON text
 */
export function toolResultText(content: ToolResultContent): string {
  return JSON.stringify(content);
}

/**
 * Reads a `tool` message's content back; text that is not ours yields `undefined`.
 * @param text - content of a `tool` message
 */
export function parseToolResultText(text: string): ToolResultContent | undefined {
  try {
    const parsed = ToolResultContentSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A tool result kept elsewhere (the transcript store, in the `tool` message of its call): its SHA-256 over canonical
 * JSON (64 hex characters) and its size in bytes.
 */
export interface ResultRef {
  sha256: string;
  /** Bytes of the canonical JSON. */
  bytes: number;
}

/** Results whose canonical JSON is longer than this (bytes) are kept by reference in outcomes. */
export const INLINE_RESULT_BYTES = 4_096;

/**
 * The reference of a result when it is too large to keep inline, else undefined.
 * @param result - a tool's result data
 * @param limit - bytes of canonical JSON kept inline (default {@link INLINE_RESULT_BYTES})
 */
export function largeResultRef(result: unknown, limit = INLINE_RESULT_BYTES): ResultRef | undefined {
  if (result === undefined) return undefined;
  const text = canonicalJson(result);
  const bytes = utf8Length(text);
  return bytes > limit ? { sha256: sha256Hex(text), bytes } : undefined;
}
