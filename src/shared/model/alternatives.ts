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
  const alternatives = found
    .map((a) => a.trim())
    .filter((a) => a.length > 0)
    .slice(0, MAX_ALTERNATIVES)
    .map((a) => (a.length > MAX_ALTERNATIVE_CHARS ? `${a.slice(0, MAX_ALTERNATIVE_CHARS - 1)}…` : a));
  return { reasoning: rest.join('\n').trim(), alternatives };
}
