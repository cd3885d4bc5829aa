import { readFileSync } from 'node:fs';
import { escapeHtml, jsonForHtmlScript } from '../../shared/render/escape';

const asset = (file: string, type: string) => ({
  type,
  body: readFileSync(new URL(`./assets/${file}`, import.meta.url), 'utf8'),
});

/**
 * The page's scripts (in the order the page loads them) and style sheet, by path: files in `assets/`, read once. They
 * hold no data; the data comes as JSON.
 */
export const INBOX_ASSETS: ReadonlyMap<string, { type: string; body: string }> = new Map([
  ['/dom.js', asset('dom.js', 'text/javascript; charset=utf-8')],
  ['/edit-form.js', asset('edit-form.js', 'text/javascript; charset=utf-8')],
  ['/inbox.js', asset('inbox.js', 'text/javascript; charset=utf-8')],
  ['/inbox.css', asset('inbox.css', 'text/css; charset=utf-8')],
]);

/**
 * The inbox's HTML page. The CSRF token is an attribute value and the tool schemas a JSON script element, both
 * escaped for where they stand; everything else arrives as JSON and is set as text by the script.
 * @param options - `token`: the per-process token; `reviewer`: whose inbox; `schemas`: each tool's JSON Schema
 * @returns the HTML document
 */
export function inboxPage(options: { token: string; reviewer: string; schemas: Record<string, unknown> }): string {
  const reviewer = escapeHtml(options.reviewer);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="hitl-token" content="${escapeHtml(options.token)}">
<title>hitl inbox: ${reviewer}</title>
<link rel="stylesheet" href="/inbox.css">
<script type="application/json" id="tool-schemas">${jsonForHtmlScript(options.schemas)}</script>
<script src="/dom.js" defer></script>
<script src="/edit-form.js" defer></script>
<script src="/inbox.js" defer></script>
</head>
<body>
<header>
  <h1>Inbox of <span id="reviewer">${reviewer}</span></h1>
  <p class="sub">Every decision here is signed with ${reviewer}'s key. <span id="live" class="live">connecting…</span></p>
</header>
<main>
  <section id="problems" class="problems" hidden></section>
  <section><h2>You may decide now <span class="count" id="count-mine"></span></h2><div id="mine" class="cards"></div></section>
  <section><h2>Paused runs <span class="count" id="count-pauses"></span></h2><div id="pauses" class="cards"></div></section>
  <section><h2>Waiting on others <span class="count" id="count-others"></span></h2><div id="others" class="cards"></div></section>
  <section><h2>You decided recently</h2><ol id="recent" class="recent"></ol></section>
</main>
</body>
</html>
`;
}
