import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { base64 } from '@scure/base';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { runResult } from '../client';
import { loadKey } from '../src/node/identity/keys';
import { startInboxServer, type InboxServer } from '../src/node/inbox/server';
import { hitl } from './support/cli';
import { stopAs } from './support/decisions';
import { tempDir } from './support/env';
import { answer, call, withWorker, type Harness } from './support/harness';
import { testKey, testRegistry } from './support/keys';
import { examplePolicy } from './support/policies';

/** The browser the test drives: `CHROMIUM_PATH`, else the distribution's Chromium. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
/** Where the screenshots go: `HITL_SCREENSHOTS_DIR` (docs/images when refreshing the README's), else a temp folder. */
const SHOTS = process.env['HITL_SCREENSHOTS_DIR'] ?? tempDir('hitl-inbox-shots-');
const HOSTILE = '<img src=x onerror="window.pwned=1">';

/** A keys folder holding one test person's key, as `hitl keys init` writes it. */
function keysFolder(person: string): string {
  const dir = tempDir('hitl-inbox-keys-');
  writeFileSync(join(dir, `${person}.key`), `${base64.encode(testKey(person).secretKey)}\n`, { mode: 0o600 });
  return dir;
}

const refundRun = (h: Harness, invoiceId: number, amountCents: number, why: string) =>
  h.startScripted(
    [
      call(
        'issue_refund',
        { invoiceId, amountCents, reason: 'duplicate charge' },
        `${why}\nAlternative: a credit note`,
      ),
      answer('done'),
    ],
    { requestedBy: 'bob', goal: `Refund the customer of invoice #${invoiceId}` },
  );

/** Refund rows of an invoice: amount and reason. */
function refunds(h: Harness, invoiceId: number): { amount_cents: number; reason: string }[] {
  return h.db
    .prepare<[number], { amount_cents: number; reason: string }>(
      'SELECT amount_cents, reason FROM hitl_refund WHERE invoice_id = ? ORDER BY rowid',
    )
    .all(invoiceId);
}

// Page-side code as text: the tests compile without the DOM's types, and tsx would add helpers to a compiled function
// that the page does not have.
const q = (selector: string): string => `document.querySelector(${JSON.stringify(selector)})`;

/** Waits until `expression` holds in the page. */
async function until(page: Page, expression: string): Promise<void> {
  try {
    await page.waitForFunction(expression, { timeout: 20_000 });
  } catch (err) {
    process.stderr.write(
      `waited in vain for ${expression}; the page shows:\n${String(await page.evaluate('document.body.innerText'))}\n`,
    );
    throw err;
  }
}

/** The text an element shows (`innerText`), or null when there is none. */
async function textOf(page: Page, selector: string): Promise<string | null> {
  return page.evaluate(`${q(selector)}?.innerText ?? null`) as Promise<string | null>;
}

/** Waits until the card of `requestId` is in (or, with `present` false, gone from) the section `section`. */
async function cardIn(page: Page, section: string, requestId: string, present = true): Promise<void> {
  await until(page, `(${q(`#${section} [data-card="${requestId}"]`)} !== null) === ${present}`);
}

/** Replaces what a field holds with `text`, as a person typing. */
async function retype(page: Page, selector: string, text: string): Promise<void> {
  await page.evaluate(`${q(selector)}.value = ''`);
  await page.type(selector, text);
}

/** Sam's inbox on a free port, signing with sam's key, polling fast. */
async function samsInbox(h: Harness): Promise<InboxServer> {
  const sam = loadKey('sam', keysFolder('sam'));
  assert.ok(sam !== undefined, "sam's key");
  return startInboxServer({ client: h.client, reviewer: 'sam', key: sam, policies: h.policies, port: 0, pollMs: 250 });
}

describe('hitl inbox', () => {
  let browser: Browser | undefined;

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`,
      );
    }
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  after(async () => {
    await browser?.close();
  });

  it('refuses to start for a person without a key, and says how to make one', async () => {
    const out = await hitl(['inbox', '--as', 'nokey', '--keys-dir', tempDir('hitl-inbox-empty-'), '--port', '0']);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /no key for nokey in .*hitl keys init --as nokey/);
  });

  it('shows a waiting refund live, rejects one with a reason, edits and approves another, signed as the reviewer', async () => {
    assert.ok(browser !== undefined);
    const b = browser;
    await withWorker(
      async (h) => {
        const small = await refundRun(h, 1, 992, `The customer was charged twice. ${HOSTILE}`);
        const [smallReq] = await h.pending(small.workflowId);
        assert.ok(smallReq !== undefined);
        const inbox: InboxServer = await samsInbox(h);
        const page = await b.newPage();
        try {
          await page.setViewport({ width: 1000, height: 900 });
          const errors: string[] = [];
          page.on('pageerror', (err) => errors.push(String(err)));

          // Without the token in its address the page is refused; a POST without the token signs nothing.
          const base = `http://127.0.0.1:${inbox.port}`;
          assert.equal((await fetch(`${base}/`)).status, 403);
          const forged = await fetch(`${base}/api/decide`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Origin: base },
            body: JSON.stringify({ workflowId: small.workflowId, requestId: smallReq.requestId, decision: 'approve' }),
          });
          assert.equal(forged.status, 403);

          await page.goto(inbox.url);
          await cardIn(page, 'mine', smallReq.requestId);
          const card = `#mine [data-card="${smallReq.requestId}"]`;
          const text = (await textOf(page, card)) ?? '';
          assert.match(text, /Refund \$9\.92 on invoice #1/);
          assert.match(text, /Refund the customer of invoice #1/); // the goal
          assert.match(text, /a credit note/); // alternatives
          assert.match(text, /0 of 1 approvals/);
          assert.match(text, /in (29|30) min/); // the deadline, relative
          assert.ok(text.includes(HOSTILE), 'the hostile reasoning is shown as text');
          assert.equal(await page.evaluate('window.pwned'), undefined);
          await (await page.$(card))!.screenshot({ path: join(SHOTS, 'inbox-waiting-refund.png') });

          // A request that opens while the page is open appears without a reload.
          const large = await refundRun(h, 2, 4800, 'A cancelled order.');
          const [largeReq] = await h.pending(large.workflowId);
          assert.ok(largeReq !== undefined);
          await cardIn(page, 'mine', largeReq.requestId);

          // Reject the small one with a reason.
          await page.click(`${card} .act-reject`);
          await page.type(`${card} .panel-reject textarea`, 'already refunded by phone');
          await page.click(`${card} .submit-reject`);
          await cardIn(page, 'mine', smallReq.requestId, false);

          // Edit the other: over $50 the edit would need finance; at $12.34 it stays with support, so it runs.
          const edit = `#mine [data-card="${largeReq.requestId}"]`;
          await page.click(`${edit} .act-edit`);
          await retype(page, `${edit} input[name="amountCents"]`, '6000');
          await until(page, `${q(`${edit} .new-gate`)}?.textContent.includes('finance') === true`);
          await (await page.$(edit))!.screenshot({ path: join(SHOTS, 'inbox-edit-new-gate.png') });
          await retype(page, `${edit} input[name="amountCents"]`, '-5');
          await until(page, `${q(`${edit} input[name="amountCents"] + .field-error`)}?.textContent !== ''`);
          assert.equal(await page.evaluate(`${q(`${edit} .submit-edit`)}.disabled`), true);
          await retype(page, `${edit} input[name="amountCents"]`, '1234');
          await until(
            page,
            `${q(`${edit} .new-gate`)}?.textContent.includes('support') === true && !${q(`${edit} .submit-edit`)}.disabled`,
          );
          await page.click(`${edit} .submit-edit`);
          await cardIn(page, 'mine', largeReq.requestId, false);

          await Promise.all([small.result(), large.result()]);
          const rejected = await runResult(h.client, small.workflowId);
          const edited = await runResult(h.client, large.workflowId);
          assert.equal(rejected.outcomes[0]?.status, 'rejected');
          assert.equal(rejected.outcomes[0]?.decidedBy, 'sam');
          assert.equal(edited.outcomes[0]?.status, 'executed');
          assert.equal(edited.outcomes[0]?.decidedBy, 'sam');
          assert.deepEqual(edited.outcomes[0]?.args, { invoiceId: 2, amountCents: 1234, reason: 'duplicate charge' });
          assert.deepEqual(refunds(h, 1), []);
          assert.deepEqual(refunds(h, 2), [{ amount_cents: 1234, reason: 'duplicate charge' }]);

          // What the reviewer decided shows under "recently", from the runs' audit trails.
          await until(page, `document.querySelectorAll('#recent li').length >= 2`);
          const recent = (await textOf(page, '#recent')) ?? '';
          assert.match(recent, /reject/);
          assert.match(recent, /edit/);
          assert.deepEqual(errors, []);
        } finally {
          await page.close();
          await inbox.close();
        }
      },
      { policy: { policy: examplePolicy, source: 'policies/example.yaml' } },
    );
  });

  it('shows what waits on others without actions, and the refusal of the run on the card', async () => {
    assert.ok(browser !== undefined);
    const b = browser;
    await withWorker(
      async (h) => {
        const big = await refundRun(h, 2, 6450, 'The whole order was cancelled.');
        const small = await refundRun(h, 1, 500, 'Part of a duplicate charge.');
        const [bigReq] = await h.pending(big.workflowId);
        const [smallReq] = await h.pending(small.workflowId);
        assert.ok(bigReq !== undefined && smallReq !== undefined);
        const inbox = await samsInbox(h);
        const page = await b.newPage();
        try {
          await page.goto(inbox.url);
          await cardIn(page, 'others', bigReq.requestId);
          const other = `#others [data-card="${bigReq.requestId}"]`;
          assert.equal(await page.$(`${other} .act-approve`), null);
          assert.match((await textOf(page, other)) ?? '', /waits on finance/);
          mkdirSync(SHOTS, { recursive: true });
          await page.screenshot({ path: join(SHOTS, 'inbox-overview.png'), fullPage: true });

          // The workers do not know sam's key (revoked): the run refuses the approval, and the card says why.
          await cardIn(page, 'mine', smallReq.requestId);
          const mine = `#mine [data-card="${smallReq.requestId}"]`;
          await page.click(`${mine} .act-approve`);
          await until(page, `${q(`${mine} .outcome`)}?.textContent !== ''`);
          const outcome = (await textOf(page, `${mine} .outcome`)) ?? '';
          assert.match(outcome, /^refused: .*no key is registered for "sam"/);
          await stopAs(h.client, small.workflowId, { by: 'ada', reason: 'test over' });
          await stopAs(h.client, big.workflowId, { by: 'ada', reason: 'test over' });
          await Promise.all([big.result(), small.result()]);
          assert.equal(refunds(h, 2).length + refunds(h, 1).length, 0);
        } finally {
          await page.close();
          await inbox.close();
        }
      },
      { policy: { policy: examplePolicy, source: 'policies/example.yaml' }, registry: testRegistry([], ['sam']) },
    );
  });
  it('answers a plan review from its card: the approved plan runs without a request per step', async () => {
    assert.ok(browser !== undefined);
    const b = browser;
    await withWorker(
      async (h) => {
        const args = { invoiceId: 1, amountCents: 500, reason: 'duplicate charge' };
        const run = await h.startScripted(
          [
            { content: 'My plan.', toolCalls: [{ name: 'issue_refund', arguments: args }] },
            call('issue_refund', args),
            answer('done'),
          ],
          { requestedBy: 'bob', review: 'plan' },
        );
        const inbox = await samsInbox(h);
        const page = await b.newPage();
        try {
          await page.goto(inbox.url);
          await until(page, `${q('#pauses .card .resume-approve')} !== null`);
          assert.match(
            (await textOf(page, '#pauses .card')) ?? '',
            /Paused: plan review[\s\S]*Refund \$5\.00 on invoice #1/,
          );
          await page.click('#pauses .card .resume-approve');
          await run.result();
          const result = await runResult(h.client, run.workflowId);
          assert.deepEqual(
            result.outcomes.map((o) => [o.status, o.decidedBy]),
            [['executed', 'sam (approved plan)']],
          );
          assert.deepEqual(refunds(h, 1), [{ amount_cents: 500, reason: 'duplicate charge' }]);
          await until(page, `${q('#pauses .card')} === null`);
        } finally {
          await page.close();
          await inbox.close();
        }
      },
      { policy: { policy: examplePolicy, source: 'policies/example.yaml' } },
    );
  });
});
