// The edit form of a request card, generated from the tool's JSON Schema (zod's z.toJSONSchema): each field checked
// as the person types, then the server's preview of the edited call and the gate it would get under the run's policy.
'use strict';
(() => {
  const { el, post } = globalThis.hitlDom;

  function fieldError(schema, value) {
    if (value === undefined) return null;
    const t = schema.type;
    if (t === 'integer' || t === 'number') {
      if (typeof value !== 'number' || Number.isNaN(value)) return 'a number';
      if (t === 'integer' && !Number.isInteger(value)) return 'a whole number';
      if (schema.minimum !== undefined && value < schema.minimum) return `at least ${schema.minimum}`;
      if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum)
        return `more than ${schema.exclusiveMinimum}`;
      if (schema.maximum !== undefined && value > schema.maximum) return `at most ${schema.maximum}`;
    } else if (t === 'string') {
      if (typeof value !== 'string') return 'text';
      if (schema.minLength !== undefined && value.trim().length < schema.minLength) return 'required';
      if (schema.maxLength !== undefined && value.length > schema.maxLength)
        return `at most ${schema.maxLength} characters`;
    } else if (t === 'array') {
      if (!Array.isArray(value)) return 'a JSON array';
      if (schema.minItems !== undefined && value.length < schema.minItems) return `at least ${schema.minItems} items`;
      if (schema.maxItems !== undefined && value.length > schema.maxItems) return `at most ${schema.maxItems} items`;
      for (const item of value) {
        const e = schema.items !== undefined ? fieldError(schema.items, item) : null;
        if (e !== null) return `each item: ${e}`;
      }
    } else if (t === 'boolean' && typeof value !== 'boolean') return 'true or false';
    return null;
  }

  function inputFor(name, schema, value) {
    const t = schema.type;
    if (t === 'integer' || t === 'number') {
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : undefined);
      const input = el('input', { type: 'number', name, step: t === 'integer' ? 1 : 'any', min, max: schema.maximum });
      if (typeof value === 'number') input.value = String(value);
      return { input, read: () => (input.value.trim() === '' ? undefined : Number(input.value)) };
    }
    if (t === 'boolean') {
      const input = el('input', { type: 'checkbox', name });
      input.checked = value === true;
      return { input, read: () => input.checked };
    }
    if (t === 'string') {
      const long = (schema.maxLength ?? 0) > 200;
      const input = el(long ? 'textarea' : 'input', {
        name,
        maxlength: schema.maxLength,
        ...(long ? { rows: 3 } : { type: 'text' }),
      });
      if (typeof value === 'string') input.value = value;
      return { input, read: () => (input.value === '' ? undefined : input.value) };
    }
    const input = el('textarea', { name, rows: 2, class: 'json' });
    if (value !== undefined) input.value = JSON.stringify(value);
    return {
      input,
      read: () => {
        if (input.value.trim() === '') return undefined;
        try {
          return JSON.parse(input.value);
        } catch {
          return Symbol.for('invalid-json');
        }
      },
    };
  }

  /**
   * The edit panel of a card; `onSubmit(args, reason)` sends the edit.
   */
  function editPanel(card, schemas, onSubmit) {
    const schema = schemas[card.tool] ?? { type: 'object', properties: {} };
    const required = new Set(schema.required ?? []);
    const fields = Object.entries(schema.properties ?? {}).map(([name, prop]) => {
      const { input, read } = inputFor(name, prop, card.args[name]);
      if (required.has(name)) input.setAttribute('required', '');
      const error = el('span', { class: 'field-error' });
      return {
        name,
        prop,
        input,
        read,
        error,
        row: el('label', { class: 'field' }, el('span', {}, name), input, error),
      };
    });
    const preview = el('div', { class: 'gate-preview', 'aria-live': 'polite' });
    const submit = el(
      'button',
      { type: 'button', class: 'submit-edit', disabled: true },
      'Approve with these arguments',
    );
    let args = null;
    let seq = 0;
    let timer;
    const check = () => {
      args = {};
      let ok = true;
      for (const f of fields) {
        const v = f.read();
        let msg = v === Symbol.for('invalid-json') ? 'not valid JSON' : fieldError(f.prop, v);
        if (msg === null && v === undefined && required.has(f.name)) msg = 'required';
        f.error.textContent = msg ?? '';
        f.input.classList.toggle('invalid', msg !== null);
        if (msg !== null) ok = false;
        else if (v !== undefined) args[f.name] = v;
      }
      submit.disabled = true;
      if (!ok) {
        preview.textContent = 'Fix the fields marked above.';
        return;
      }
      preview.textContent = 'checking…';
      clearTimeout(timer);
      const mine = ++seq;
      const sent = args;
      timer = setTimeout(async () => {
        const body = { tool: card.tool, policyVersion: card.policyVersion, args: sent };
        if (card.policySha256 !== undefined) body.policySha256 = card.policySha256;
        const p = await post('/api/preview', body);
        if (mine !== seq) return;
        preview.replaceChildren();
        if (p.valid !== true) {
          preview.append(el('p', { class: 'invalid' }, (p.errors ?? [p.reason]).join('; ')));
          return;
        }
        preview.append(el('p', {}, `Edited call: ${p.summary}`));
        if (p.gate !== undefined) {
          const who = p.gate.groups.length > 0 ? p.gate.groups.join(', ') : 'anyone';
          preview.append(
            el(
              'p',
              { class: `new-gate gate-${p.gate.kind}` },
              `New gate: ${p.gate.kind}, decided by ${who}, ${p.gate.quorum} approval(s) (${p.gate.because})`,
            ),
          );
        } else preview.append(el('p', {}, p.note));
        submit.disabled = false;
      }, 200);
    };
    for (const f of fields) f.input.addEventListener('input', check);
    const reason = el('input', { type: 'text', name: 'edit-reason', maxlength: 4000, placeholder: 'why (optional)' });
    submit.addEventListener('click', () => onSubmit(args, reason.value));
    const form = el('div', { class: 'edit-form' }, ...fields.map((f) => f.row), reason);
    const panel = el('div', { class: 'panel panel-edit', hidden: true }, form, preview, submit);
    panel.addEventListener('toggle-open', check);
    return panel;
  }

  globalThis.hitlEditForm = { editPanel };
})();
