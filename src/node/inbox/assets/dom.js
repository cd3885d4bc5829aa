// Helpers of the inbox page's scripts: elements built from text (never from markup), times in words, and POSTs that
// carry the page's token.
'use strict';
(() => {
  const token = document.querySelector('meta[name="hitl-token"]').getAttribute('content');

  /** An element with attributes and children (strings become text nodes). */
  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) if (c !== undefined && c !== null) e.append(c);
    return e;
  }

  /** A fact's parts: text, and arguments as code. */
  function parts(list) {
    return list.map((p) => (typeof p === 'string' ? document.createTextNode(p) : el('code', {}, p.code)));
  }

  /** "in 25 min", "overdue by 3 h". */
  function relative(iso) {
    const ms = Date.parse(iso) - Date.now();
    const abs = Math.abs(ms);
    const text =
      abs < 60_000
        ? `${Math.round(abs / 1000)} s`
        : abs < 3_600_000
          ? `${Math.round(abs / 60_000)} min`
          : abs < 172_800_000
            ? `${Math.round(abs / 3_600_000)} h`
            : `${Math.round(abs / 86_400_000)} d`;
    return ms >= 0 ? `in ${text}` : `overdue by ${text}`;
  }

  /** "5 min ago". */
  function ago(iso) {
    return `${relative(iso).replace(/^overdue by |^in /, '')} ago`;
  }

  function deadlineNode(iso) {
    return el('time', { datetime: iso, title: new Date(iso).toString(), 'data-deadline': iso }, relative(iso));
  }

  /** POSTs JSON with the page's token; answers the server's JSON, or the status and text it sent. */
  async function post(path, body) {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Hitl-Token': token },
      body: JSON.stringify(body),
    });
    const type = res.headers.get('content-type') ?? '';
    if (type.startsWith('application/json')) return res.json();
    return { ok: false, refused: false, reason: `${res.status} ${await res.text()}` };
  }

  globalThis.hitlDom = { token, el, parts, relative, ago, deadlineNode, post };
})();
