// Node-only: Slack's mrkdwn, escaped at the point of display. Slack reads `<…>` as a link, a mention or a special
// command (`<!channel>`, `<http://evil|click>`), and `&` as the start of an entity; its own docs ask for exactly
// `&amp;`, `&lt;` and `&gt;`. Control and bidi characters are shown as escapes, as in the terminal.
import { escapeTerminal, showControls, type Part } from '../../shared/render/escape';

/** Slack's limits on what this bridge sends (Block Kit reference). */
export const SLACK_LIMITS = {
  /** A section's text, and a context element's. */
  sectionText: 3000,
  /** A header block's plain text. */
  headerText: 150,
  /** A button's label. */
  buttonText: 75,
  /** A button's value. */
  buttonValue: 2000,
  /** A modal's `private_metadata`. */
  privateMetadata: 3000,
  /** A modal's title. */
  modalTitle: 24,
  /** Blocks in one message. */
  blocks: 50,
} as const;

const SLACK_SPECIAL = /[&<>]/g;
const SLACK_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * Escapes text for Slack mrkdwn on one line: control and bidi characters as visible escapes ({@link escapeTerminal}),
 * then `&`, `<` and `>` as entities, so no mention, link or command survives.
 * @param text - untrusted text (a model's summary, a tool's words, a client's reason)
 * @returns mrkdwn that shows the text as written
 * @example escapeSlack('<!channel> <http://evil|click>') // '&lt;!channel&gt; &lt;http://evil|click&gt;'
 */
export function escapeSlack(text: string): string {
  return escapeTerminal(text).replace(SLACK_SPECIAL, (ch) => SLACK_ENTITIES[ch] ?? ch);
}

/**
 * Like {@link escapeSlack}, keeping line breaks (a model's reasoning has paragraphs); every line is escaped alone.
 * @param text - untrusted text
 * @returns mrkdwn, one output line per input line
 */
export function escapeSlackLines(text: string): string {
  return text.split(/\r?\n/).map(escapeSlack).join('\n');
}

/**
 * Code in mrkdwn (arguments as JSON): control characters as escapes, `&<>` as entities, in a code span. A backtick
 * inside would end the span, so such code is shown without one.
 * @param code - the code
 * @returns an inline code span, or the escaped text when it holds a backtick
 */
export function slackCode(code: string): string {
  const text = showControls(code).replace(SLACK_SPECIAL, (ch) => SLACK_ENTITIES[ch] ?? ch);
  return code.includes('`') || text === '' ? text : `\`${text}\``;
}

/**
 * A value in parts as mrkdwn: text through {@link escapeSlack}, code through {@link slackCode}.
 * @param parts - the value
 * @returns one line of mrkdwn
 */
export function partsForSlack(parts: readonly Part[]): string {
  return parts.map((p) => (typeof p === 'string' ? escapeSlack(p) : slackCode(p.code))).join('');
}

/**
 * Shortens escaped mrkdwn to at most `max` characters, ending in `…` when cut, never inside an entity (`&amp;`) or a
 * mention (`<@U…>`) the bridge wrote.
 * @param text - escaped mrkdwn
 * @param max - the limit, in UTF-16 code units as Slack counts
 * @returns the text, whole or cut
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  cut = cut.replace(/&[a-z]{0,4}$/, '').replace(/<[^>]*$/, '');
  // Never leave half a surrogate pair.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * Plain text (not mrkdwn: a header, a button, a modal title) cut to `max`, with control characters as escapes.
 * @param text - untrusted text
 * @param max - the limit
 * @returns the text, whole or cut
 */
export function plainText(text: string, max: number): string {
  const shown = escapeTerminal(text);
  if (shown.length <= max) return shown;
  const cut = shown.slice(0, max - 1);
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}
