// The inbox page's script. Every string from the server (models, tools, clients, the workflow) is set as text
// (textContent, input values, safe attributes such as title); nothing is ever parsed as HTML.
'use strict';
(() => {
  const { token, el, parts, ago, relative, deadlineNode, post } = globalThis.hitlDom;
  const { editPanel } = globalThis.hitlEditForm;
  const schemas = JSON.parse(document.getElementById('tool-schemas').textContent);
  /** requestId or pauseId → the key of the card shown, so unchanged cards (and what is typed in them) stay. */
  const shownKeys = new Map();
  /** requestId or pauseId → the last outcome shown on its card, so a rebuilt card keeps it. */
  const outcomes = new Map();

  function showOutcome(id, node, result) {
    const text = result.ok ? result.text : `${result.refused ? 'refused' : 'error'}: ${result.reason}`;
    outcomes.set(id, { ok: result.ok, text });
    node.textContent = text;
    node.className = `outcome ${result.ok ? 'ok' : 'refused'}`;
    const flash = document.getElementById('flash');
    if (flash !== null && result.ok) flash.textContent = text;
  }

  /** A panel with a text area and a submit button (reject's reason, respond's message, a pause's reason). */
  function textPanel(kind, label, name, onSubmit) {
    const area = el('textarea', { name, rows: 2, maxlength: 4000, 'aria-label': label });
    const submit = el('button', { type: 'button', class: `submit-${kind}` }, label);
    submit.addEventListener('click', () => onSubmit(area.value));
    return el('div', { class: `panel panel-${kind}`, hidden: true }, el('label', {}, label, area), submit);
  }
  // ---- cards ----

  async function act(card, decision, extra) {
    const node = document.querySelector(`[data-card="${CSS.escape(card.requestId)}"] .outcome`);
    const body = { workflowId: card.workflowId, requestId: card.requestId, decision, argsHash: card.argsHash };
    if (card.effectHash !== undefined) body.effectHash = card.effectHash;
    const result = await post('/api/decide', { ...body, ...extra });
    if (node !== null) showOutcome(card.requestId, node, result);
  }

  function actionBar(buttons, panels) {
    const bar = el('div', { class: 'actions' });
    for (const [kind, label, onClick] of buttons) {
      const b = el('button', { type: 'button', class: `act-${kind}` }, label);
      b.addEventListener('click', () => {
        if (onClick !== undefined) return onClick();
        for (const [k, p] of panels) {
          p.hidden = k !== kind ? true : !p.hidden;
          if (!p.hidden) p.dispatchEvent(new Event('toggle-open'));
        }
      });
      bar.append(b);
    }
    return bar;
  }

  function requestCard(card) {
    const facts = el('dl', { class: 'facts' });
    facts.append(el('dt', {}, 'goal'), el('dd', {}, card.goal));
    for (const [label, value] of card.facts) facts.append(el('dt', {}, label), el('dd', {}, ...parts(value)));
    facts.append(el('dt', {}, 'deadline'), el('dd', {}, deadlineNode(card.deadline), `; then ${card.then}`));
    const article = el(
      'article',
      { class: `card gate-${card.gate}`, 'data-card': card.requestId, 'data-workflow-id': card.workflowId },
      el(
        'header',
        {},
        el('h3', {}, card.summary),
        el('span', { class: 'badge' }, `${card.gate} gate`),
        el('span', { class: 'badge approvals' }, `${card.approvals} of ${card.quorum} approvals`),
        el('span', { class: 'badge' }, 'due ', deadlineNode(card.deadline)),
      ),
      facts,
    );
    if (card.mayDecide) {
      const panels = new Map([
        ['reject', textPanel('reject', 'Reject with this reason', 'reason', (t) => act(card, 'reject', { reason: t }))],
        [
          'respond',
          textPanel('respond', 'Send this to the model', 'message', (t) => act(card, 'respond', { message: t })),
        ],
        ['edit', editPanel(card, schemas, (args, reason) => act(card, 'edit', { args, reason }))],
      ]);
      const bar = actionBar(
        [
          ['approve', 'Approve', () => act(card, 'approve', {})],
          ['reject', 'Reject…'],
          ['respond', 'Respond…'],
          ['edit', 'Edit…'],
        ],
        panels,
      );
      article.append(bar, ...panels.values());
    } else if (card.whyNot !== undefined)
      article.append(el('p', { class: 'why-not' }, `Not yours now: ${card.whyNot}`));
    const last = outcomes.get(card.requestId);
    article.append(
      el('p', { class: `outcome${last ? (last.ok ? ' ok' : ' refused') : ''}`, role: 'status' }, last?.text ?? ''),
    );
    return article;
  }

  function pauseCard(card) {
    const facts = el('dl', { class: 'facts' });
    if (card.plan.length > 0) {
      facts.append(el('dt', {}, 'plan'), el('dd', {}, ...card.plan.map((p) => el('div', {}, ...parts(p)))));
    }
    for (const [label, value] of card.facts) facts.append(el('dt', {}, label), el('dd', {}, ...parts(value)));
    facts.append(el('dt', {}, 'deadline'), el('dd', {}, deadlineNode(card.deadline)));
    const article = el(
      'article',
      { class: 'card pause', 'data-card': card.pauseId, 'data-workflow-id': card.workflowId },
      el(
        'header',
        {},
        el('h3', {}, `Paused: ${card.title}`),
        el('span', { class: 'badge' }, 'due ', deadlineNode(card.deadline)),
      ),
      el('p', {}, card.detail),
      facts,
    );
    const out = el('p', { class: 'outcome', role: 'status' }, outcomes.get(card.pauseId)?.text ?? '');
    if (card.mayAnswer) {
      const reason = el('textarea', {
        name: 'reason',
        rows: 2,
        maxlength: 4000,
        placeholder: 'reason (stop, abort, reject)',
      });
      const steps = el('textarea', { name: 'steps', rows: 4, class: 'json', hidden: !card.actions.includes('edit') });
      steps.value = JSON.stringify(card.steps, null, 1);
      const buttons = card.actions.map((action) => {
        const b = el('button', { type: 'button', class: `resume-${action}` }, action);
        b.addEventListener('click', async () => {
          const body = { workflowId: card.workflowId, pauseId: card.pauseId, action, reason: reason.value };
          if (action === 'edit') {
            try {
              body.steps = JSON.parse(steps.value);
            } catch {
              return showOutcome(card.pauseId, out, {
                ok: false,
                refused: false,
                reason: 'the plan is not valid JSON',
              });
            }
          }
          showOutcome(card.pauseId, out, await post('/api/resume', body));
        });
        return b;
      });
      article.append(reason, steps, el('div', { class: 'actions' }, ...buttons));
    } else if (card.whyNot !== undefined)
      article.append(el('p', { class: 'why-not' }, `Not yours now: ${card.whyNot}`));
    article.append(out);
    return article;
  }

  /** Replaces the cards of one section, keeping each card whose content did not change. */
  function renderCards(container, cards, idOf, build) {
    const existing = new Map([...container.children].map((c) => [c.getAttribute('data-card'), c]));
    const next = cards.map((card) => {
      const id = idOf(card);
      const old = existing.get(id);
      if (old !== undefined && shownKeys.get(id) === card.key) return old;
      shownKeys.set(id, card.key);
      return build(card);
    });
    container.replaceChildren(...next);
    if (cards.length === 0) container.append(el('p', { class: 'empty' }, 'nothing here'));
  }

  function render(view) {
    renderCards(document.getElementById('mine'), view.mine, (c) => c.requestId, requestCard);
    renderCards(document.getElementById('others'), view.others, (c) => c.requestId, requestCard);
    renderCards(document.getElementById('pauses'), view.pauses, (c) => c.pauseId, pauseCard);
    document.getElementById('count-mine').textContent = `(${view.mine.length})`;
    document.getElementById('count-others').textContent = `(${view.others.length})`;
    document.getElementById('count-pauses').textContent = `(${view.pauses.length})`;
    const recent = document.getElementById('recent');
    recent.replaceChildren(
      ...view.recent.map((d) =>
        el(
          'li',
          { class: `decision decision-${d.decision ?? 'unknown'}` },
          el('time', { title: new Date(d.at).toString() }, ago(d.at)),
          ` ${d.detail}`,
        ),
      ),
    );
    const problems = document.getElementById('problems');
    problems.replaceChildren(...view.problems.map((p) => el('p', {}, p)));
    problems.hidden = view.problems.length === 0;
    live.textContent = 'live';
  }

  document.querySelector('header').append(el('p', { id: 'flash', role: 'status' }));
  const live = document.getElementById('live');
  const events = new EventSource(`/events?t=${encodeURIComponent(token)}`);
  events.addEventListener('state', (e) => render(JSON.parse(e.data)));
  events.addEventListener('problem', (e) => {
    const problems = document.getElementById('problems');
    problems.replaceChildren(el('p', {}, JSON.parse(e.data)));
    problems.hidden = false;
    live.textContent = 'not current';
  });
  events.addEventListener('open', () => (live.textContent = 'live'));
  events.addEventListener('error', () => (live.textContent = 'reconnecting…'));
  setInterval(() => {
    for (const t of document.querySelectorAll('time[data-deadline]'))
      t.textContent = relative(t.getAttribute('data-deadline'));
  }, 15_000);
})();
