// Escaping at the point of display. Text from a model, a tool, a policy or a client can hold anything: a carriage
// return and `ESC[2K` that overwrite what came before, `ESC[8m` that hides what comes after, a newline that starts a
// fake audit entry, a right-to-left override that shows the text after it reversed. Each output gets its own escaping
// here, and none lets a string leave its line, so the shape of what a person reads never depends on the text inside:
//
//   terminal  `\x1b`, `\x9b`, `\n`, `\r`, `\t`, `\u{202E}`, and `\\` for a backslash (so `\x1b` cannot be faked)
//   JSON      what JSON.stringify leaves raw (DEL, C1, bidi, U+2028/U+2029) as a JSON escape, `\u009b`: still valid,
//             equal JSON, so it can be copied into `--args`
//   Markdown  the terminal escaping, then Markdown's punctuation backslash-escaped; code (arguments, commands) in a code
//             span whose fence is longer than any backtick run inside, where the Web UI changes no quote
//   HTML      the terminal escaping, then `&`, `<`, `>`, `"` and `'` as character references (text and attribute
//             values); JSON inside a `<script>` element with `<`, `>`, `&`, U+2028/U+2029 as JSON escapes
//
// Sandbox-safe: it runs in workflow code (the Web UI's details) as well as in the CLI.

/*
 * What no output shows raw: C0 controls (newline, carriage return and tab included), DEL, C1 controls, the Arabic
 * letter mark, left-to-right and right-to-left marks, line and paragraph separators, bidi embeddings, overrides and
 * isolates.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- as CONTROLS, with the backslash
const CONTROLS_AND_BACKSLASH = /[\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
// What JSON.stringify leaves raw of CONTROLS: it escapes C0 itself.
const JSON_RAW_CONTROLS = /[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
const SHORT: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const MARKDOWN_PUNCTUATION = /[\\`*_{}[\]()#+\-!|$<>~&]/g;
// Words a POSIX shell reads as they are: no quoting, globbing, expansion or separator.
const SHELL_PLAIN = /^[\w@%+=:,./-]+$/;

const HTML_SPECIAL = /[&<>"']/g;
const HTML_REFERENCES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
// What could end a `<script>` element or open a comment inside it; `&` so no entity-looking text survives either.
const SCRIPT_SPECIAL = /[<>&]/g;

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, '0');
}

/** One unsafe character as visible text: `\n`, `\r`, `\t`, `\\`, `\x1b` (up to U+00FF), `\u{202E}` (above). */
function visible(ch: string): string {
  const code = ch.charCodeAt(0);
  return SHORT[ch] ?? (code <= 0xff ? `\\x${hex(code, 2)}` : `\\u{${hex(code, 4).toUpperCase()}}`);
}

/**
 * Makes text safe for one terminal line: every control character, bidi control and line separator is shown as an
 * escape (`\x1b`, `\x9b`, `\n`, `\r`, `\t`, `\u{202E}`), and a backslash as `\\`, so the escaping is reversible and a
 * model that writes `\x1b` itself shows as `\\x1b`. The result has no line break: what follows it stays on its line,
 * and what comes after it stays visible.
 * @param text - untrusted text (a model's reasoning, a tool's summary, a client's name or reason, a policy's words)
 * @returns the text, one line, printable as it is
 * @example escapeTerminal('dup\r\x1b[2K') // 'dup\\r\\x1b[2K'
 */
export function escapeTerminal(text: string): string {
  return text.replace(CONTROLS_AND_BACKSLASH, visible);
}

/**
 * Shows control characters as escapes like {@link escapeTerminal}, but leaves backslashes alone: for text that is
 * already escaped in its own way (JSON) and must stay as it is.
 * @param text - text whose backslashes mean something
 * @returns the text with no control character left
 */
export function showControls(text: string): string {
  return text.replace(CONTROLS, visible);
}

/**
 * JSON for people to read and copy: `JSON.stringify`, with the characters it leaves raw that a terminal or a browser
 * would act on (DEL, C1 controls, bidi controls, U+2028/U+2029) written as JSON escapes (`\u009b`). It parses to the
 * same value. Without `space` it is one line.
 * @param value - a JSON value (arguments, a plan)
 * @param space - indentation, as for `JSON.stringify`
 * @returns the JSON text; `undefined` when the value has no JSON form
 */
export function displayJson(value: unknown, space?: number): string {
  const json = JSON.stringify(value, null, space) as string | undefined;
  if (json === undefined) return 'undefined';
  return json.replace(JSON_RAW_CONTROLS, (ch) => `\\u${hex(ch.charCodeAt(0), 4)}`);
}

function quoteForShell(shown: string): string {
  return SHELL_PLAIN.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`;
}

/**
 * One word of a command a person copies into a shell (a workflow id, a request id): as it is when it is plain, else
 * single-quoted, after {@link escapeTerminal}. A hostile id cannot end the command or run another; an id with control
 * characters in it comes out escaped, so the command names no run rather than a wrong one.
 * @param text - untrusted text
 * @returns one shell word
 */
export function shellWord(text: string): string {
  return quoteForShell(escapeTerminal(text));
}

/**
 * A JSON value as one shell word, for `--args '…'` and `--steps '…'`: {@link displayJson}, single-quoted (a `'` in a
 * string becomes `'\''`).
 * @param value - a JSON value
 * @returns one shell word that the shell turns back into the JSON
 */
export function shellJson(value: unknown): string {
  return quoteForShell(displayJson(value));
}

/**
 * Escapes text so a Markdown renderer shows it as written, on one line: {@link escapeTerminal} first (a control
 * character or a newline would start a block, hide text or reorder it), then every Markdown punctuation mark and `&`
 * (an entity such as `&#x202E;` would become the character) behind a backslash. `$` too: the Web UI would read `$…$` as
 * math. The dot stays, so `1.` after a line's start stays a number.
 * @param text - untrusted text
 * @returns Markdown that shows the text, with its control characters as escapes
 */
export function escapeMarkdown(text: string): string {
  return escapeTerminal(text).replace(MARKDOWN_PUNCTUATION, (ch) => `\\${ch}`);
}

/**
 * An inline Markdown code span, which the Web UI shows verbatim (no typographic quotes, no math, no links): fenced by
 * more backticks than the longest run inside, padded with a space when the text starts or ends with a backtick or a
 * space (CommonMark takes one away on each side). Control characters are shown as escapes ({@link showControls}), so
 * the span stays on its line; backslashes stay as they are, as code should.
 * @param text - the code, e.g. {@link displayJson} of arguments or a command
 * @returns a code span
 */
export function markdownCode(text: string): string {
  const code = showControls(text);
  let longest = 0;
  for (const run of code.matchAll(/`+/g)) longest = Math.max(longest, run[0].length);
  const fence = '`'.repeat(longest + 1);
  const pad = code === '' || /^[` ]|[` ]$/.test(code) ? ' ' : '';
  return `${fence}${pad}${code}${pad}${fence}`;
}

/** A piece of a value shown to people: text, escaped for each output, or code shown as code (JSON, a command). */
export type Part = string | { code: string };

/** A fact a reviewer reads: its label (the renderer's own words) and its value in parts. */
export type Fact = [label: string, value: Part[]];

/**
 * A value on one terminal line: text through {@link escapeTerminal}, code through {@link showControls}.
 * @param parts - the value
 * @returns one line
 */
export function partsForTerminal(parts: readonly Part[]): string {
  return parts.map((p) => (typeof p === 'string' ? escapeTerminal(p) : showControls(p.code))).join('');
}

/**
 * A value on one Markdown line: text through {@link escapeMarkdown}, code as a {@link markdownCode} span.
 * @param parts - the value
 * @returns one line of Markdown
 */
export function partsForMarkdown(parts: readonly Part[]): string {
  return parts.map((p) => (typeof p === 'string' ? escapeMarkdown(p) : markdownCode(p.code))).join('');
}

/**
 * Escapes text for HTML, in an element's text or in a quoted attribute value: {@link escapeTerminal} first (a bidi
 * override would reorder what follows it, a control character would hide), then `&`, `<`, `>`, `"` and `'` as
 * character references, so no markup, entity or attribute end survives.
 * @param text - untrusted text (a tool name, a rule, a person, advice quoting them)
 * @returns HTML text that shows the text, with its control characters as escapes
 * @example escapeHtml('<img src=x onerror=alert(1)>') // '&lt;img src=x onerror=alert(1)&gt;'
 */
export function escapeHtml(text: string): string {
  return escapeTerminal(text).replace(HTML_SPECIAL, (ch) => HTML_REFERENCES[ch] ?? ch);
}

/**
 * JSON to embed in an HTML `<script type="application/json">` element and read back with `JSON.parse` of its text:
 * {@link displayJson}, then `<`, `>` and `&` as JSON escapes (`\u003c`), so no string in it can close the element
 * (`</script>`), open a comment (`<!--`) or change how the HTML parser reads the rest. U+2028/U+2029 are escaped by
 * {@link displayJson}. It parses to the same value.
 * @param value - a JSON value
 * @returns JSON text with none of `<`, `>`, `&`, U+2028, U+2029 raw
 */
export function jsonForHtmlScript(value: unknown): string {
  return displayJson(value).replace(SCRIPT_SPECIAL, (ch) => `\\u${hex(ch.charCodeAt(0), 4)}`);
}
