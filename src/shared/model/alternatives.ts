/** At most this many alternatives are kept per turn, each cut to {@link MAX_ALTERNATIVE_CHARS}. */
export const MAX_ALTERNATIVES = 5;
const MAX_ALTERNATIVE_CHARS = 300;

const SINGLE = /^\s*(?:[-*]\s*)?alternative\s*\d*\s*[:.)-]\s*(.+)$/i;
const HEADING = /^\s*(?:[-*]\s*)?alternatives\s*:\s*(.*)$/i;
const BULLET = /^\s*(?:[-*•]|\d+[.)])\s+(.+)$/;

/** A model turn's text split into its reasoning and the alternatives it offered. */
export interface SplitReasoning {
  /** The text without the alternative lines, trimmed; empty when nothing else was said. */
  reasoning: string;
  /** Up to {@link MAX_ALTERNATIVES} alternatives, trimmed, each at most 300 characters. */
  alternatives: string[];
}

/**
 * Splits the text of the turn that proposed a tool call into the model's reasoning and the alternatives it offered,
 * so a reviewer sees what else the agent considered. The system prompt asks for alternatives on lines of their own:
 * `Alternative: …` (one per line), an `Alternatives:` line followed by bullet or numbered lines, or
 * `Alternatives: a; b`. Every other line is reasoning. Deterministic (runs inside the workflow).
 *
 * @param content - the assistant's text, or null when it gave none
 * @returns the reasoning and the alternatives; both empty for null
 * @example splitAlternatives('Refund $9.92.\nAlternative: a store credit')
 * // { reasoning: 'Refund $9.92.', alternatives: ['a store credit'] }
 */
export function splitAlternatives(content: string | null): SplitReasoning {
  if (content === null) return { reasoning: '', alternatives: [] };
  const found: string[] = [];
  const rest: string[] = [];
  let inList = false;
  for (const line of content.split(/\r?\n/)) {
    const heading = HEADING.exec(line);
    if (heading !== null) {
      inList = true;
      found.push(...(heading[1] ?? '').split(';'));
      continue;
    }
    const single = SINGLE.exec(line);
    if (single !== null) {
      found.push(single[1] ?? '');
      inList = false;
      continue;
    }
    const bullet = inList ? BULLET.exec(line) : null;
    if (bullet !== null) {
      found.push(bullet[1] ?? '');
      continue;
    }
    inList = false;
    rest.push(line);
  }
  return { reasoning: rest.join('\n').trim(), alternatives: boundAlternatives(found) };
}

/**
 * Trims alternatives, drops empty ones and keeps at most {@link MAX_ALTERNATIVES}, each cut to 300 characters.
 * Deterministic (runs inside the workflow).
 * @param list - alternatives as a model gave them
 * @returns the bounded list
 */
export function boundAlternatives(list: readonly string[]): string[] {
  return list
    .map((a) => a.trim())
    .filter((a) => a.length > 0)
    .slice(0, MAX_ALTERNATIVES)
    .map((a) => (a.length > MAX_ALTERNATIVE_CHARS ? `${a.slice(0, MAX_ALTERNATIVE_CHARS - 1)}…` : a));
}

/**
 * The alternatives a request shows for a proposed call: the provider's structured ones when it gave them (the call's
 * `alternatives` field), else those in the `Alternative:` lines of the turn's text. Deterministic (runs inside the
 * workflow).
 * @param structured - the call's `alternatives` field, or undefined when its provider has none
 * @param content - the text of the turn that proposed the call
 * @returns at most {@link MAX_ALTERNATIVES}, each at most 300 characters
 * @example proposedAlternatives(['a store credit'], 'Refund $9.92.') // ['a store credit']
 */
export function proposedAlternatives(structured: readonly string[] | undefined, content: string | null): string[] {
  return structured !== undefined ? boundAlternatives(structured) : splitAlternatives(content).alternatives;
}
