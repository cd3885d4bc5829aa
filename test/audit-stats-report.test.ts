import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';
import { recommend } from '../src/node/audit/recommend';
import { auditStats, decisionTimesByDay } from '../src/node/audit/stats';
import { chartJsBundle, statsReportHtml } from '../src/node/audit/stats-report';
import type { AuditRecord } from '../src/shared/audit/chain';
import { jsonForHtmlScript } from '../src/shared/render/escape';
import type { AuditEntry } from '../src/shared/run-state';

const HOSTILE_TOOL = '<img src=x onerror=alert(1)>';
const HOSTILE_RULE = '</script><script>window.pwned=1</script>';
const HOSTILE_PERSON = '</script><script>window.pwned=1</script><!--';
const HOSTILE_GROUP = '<svg onload=alert(2)>&amp;';

type Step = [minutes: number, entry: Omit<AuditEntry, 'seq' | 'at' | 'detail' | 'requestId' | 'tool'>];

/** One request's records: opened at `openedAt` with a hard gate and `rule`, then (minutes after, entry) pairs. */
function request(workflowId: string, tool: string, rule: string, openedAt: string, steps: Step[]): AuditRecord[] {
  const base = Date.parse(openedAt);
  const requestId = `${workflowId}-req`;
  const entry = (seq: number, minutes: number, e: Omit<AuditEntry, 'seq' | 'at' | 'detail'>): AuditRecord => ({
    ...e,
    seq,
    at: new Date(base + minutes * 60_000).toISOString(),
    detail: 'text a model may have written',
    workflowId,
    runId: 'r',
    prev: '',
    hash: '',
  });
  return [
    entry(1, 0, { kind: 'approval_requested', actor: 'agent', requestId, tool, facts: { gate: 'hard', rule } }),
    ...steps.map(([minutes, e], i) => entry(i + 2, minutes, { ...e, requestId, tool })),
  ];
}

const decide = (decision: 'approve' | 'edit' | 'reject', by: string, groups: string[] = ['support']): Step[1] => ({
  kind: 'decision',
  actor: by,
  facts: { decision, signer: by, groups, closed: true },
});

const DAY1 = '2026-12-01T09:00:00.000Z';
const DAY2 = '2026-12-02T09:00:00.000Z';

/**
 * sam approves every email (2, 4 and 6 minutes on day 1, 10 on day 2); the hostile tool is edited (3 min), rejected
 * (5 min), expires once and stays open once, all on day 2.
 */
const RECORDS: AuditRecord[] = [
  ...request('e1', 'send_email', 'r1', DAY1, [[2, decide('approve', 'sam')]]),
  ...request('e2', 'send_email', 'r1', DAY1, [[4, decide('approve', 'sam')]]),
  ...request('e3', 'send_email', 'r1', DAY1, [[6, decide('approve', 'sam')]]),
  ...request('e4', 'send_email', 'r1', DAY2, [[10, decide('approve', 'sam')]]),
  ...request('x1', HOSTILE_TOOL, HOSTILE_RULE, DAY2, [[3, decide('edit', HOSTILE_PERSON, [HOSTILE_GROUP])]]),
  ...request('x2', HOSTILE_TOOL, HOSTILE_RULE, DAY2, [[5, decide('reject', 'felix')]]),
  ...request('x3', HOSTILE_TOOL, HOSTILE_RULE, DAY2, [
    [60, { kind: 'approval_expired', actor: 'system', facts: { gate: 'hard' } }],
  ]),
  ...request('x4', HOSTILE_TOOL, HOSTILE_RULE, DAY2, []),
];

function buildReport(): string {
  const stats = auditStats(RECORDS, { since: '2026-11-01T00:00:00.000Z' });
  return statsReportHtml({
    stats,
    recommendations: recommend(stats, { minRequests: 3 }),
    series: decisionTimesByDay(RECORDS),
    chartJs: chartJsBundle(),
    generatedAt: '2026-12-03T00:00:00.000Z',
  });
}

/** The browser the test drives: `CHROMIUM_PATH`, else the distribution's Chromium. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** What the page shows and holds once its charts have drawn (read in the page, see PAGE_PROBE). */
interface PageProbe {
  text: string;
  recommendations: string[];
  pwned: unknown;
  images: number;
  scripts: number;
  cspViolations: string[];
  bar: { labels: string[]; datasets: Record<string, number[]>; inked: number; approvedInk: number };
  line: { labels: string[]; datasets: Record<string, (number | null)[]>; inked: number };
}

// Page-side code as text: tsx would add helpers to a compiled function that the page does not have.
const PAGE_PROBE = `(() => {
  const chart = (id) => Chart.getChart(document.getElementById(id));
  const datasets = (c) => Object.fromEntries(c.data.datasets.map((d) => [d.label, d.data]));
  const pixels = (c, near) => {
    const { width, height } = c.canvas;
    const px = c.ctx.getImageData(0, 0, width, height).data;
    let inked = 0;
    let matching = 0;
    for (let i = 0; i < px.length; i += 4) {
      const [r, g, b, a] = [px[i], px[i + 1], px[i + 2], px[i + 3]];
      if (a > 0 && (r < 240 || g < 240 || b < 240)) inked += 1;
      if (near && a > 200 && Math.abs(r - near[0]) < 8 && Math.abs(g - near[1]) < 8 && Math.abs(b - near[2]) < 8) matching += 1;
    }
    return { inked, matching };
  };
  const bar = chart('mix-chart');
  const line = chart('times-chart');
  const barInk = pixels(bar, [0x2e, 0x7d, 0x32]);
  return {
    text: document.body.innerText,
    recommendations: [...document.querySelectorAll('#recommendations li')].map((li) => li.innerText),
    pwned: window.pwned,
    images: document.querySelectorAll('img, svg').length,
    scripts: document.scripts.length,
    cspViolations: window.cspViolations,
    bar: { labels: bar.data.labels, datasets: datasets(bar), inked: barInk.inked, approvedInk: barInk.matching },
    line: { labels: line.data.labels, datasets: datasets(line), inked: pixels(line).inked },
  };
})()`;

describe('hitl stats --html report', () => {
  it('embeds the chart data so no string can end its script element', () => {
    const value = { s: `${HOSTILE_RULE}\u2028\u2029<!-- & -->` };
    const json = jsonForHtmlScript(value);
    assert.doesNotMatch(json, /[<>&\u2028\u2029]/);
    assert.deepEqual(JSON.parse(json), value);
    const html = buildReport();
    for (const hostile of [HOSTILE_TOOL, HOSTILE_RULE, HOSTILE_PERSON, HOSTILE_GROUP]) {
      assert.ok(!html.includes(hostile), `the page holds ${hostile} raw`);
    }
    // The page's own three scripts and nothing a name could add.
    assert.equal(html.match(/<script\b/gi)?.length, 3);
    assert.equal(html.match(/<\/script/gi)?.length, 3);
    const empty = statsReportHtml({
      stats: auditStats([]),
      recommendations: [],
      series: [],
      chartJs: chartJsBundle(),
      generatedAt: '2026-12-03T00:00:00.000Z',
    });
    assert.doesNotMatch(empty, /<canvas/);
    assert.match(empty, /no approval requests in the window/);
  });

  describe('in Chromium', () => {
    let browser: Browser | undefined;
    const outDir = mkdtempSync(join(tmpdir(), 'hitl-stats-report-'));

    before(async () => {
      if (!existsSync(CHROMIUM)) {
        throw new Error(
          `Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH to a ` +
            'Chromium or Chrome binary. The report test needs a real browser and does not skip.',
        );
      }
      browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    });

    after(async () => {
      await browser?.close();
    });

    it('draws the decision mix and time to decision offline, shows hostile names as text, and runs none of them', async (t) => {
      assert.ok(browser !== undefined);
      const file = join(outDir, 'stats.html');
      writeFileSync(file, buildReport());
      const page = await browser.newPage();
      const errors: string[] = [];
      const dialogs: string[] = [];
      const fetched: string[] = [];
      page.on('pageerror', (err) => errors.push(String(err)));
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(msg.text());
      });
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      page.on('request', (req) => {
        if (req.url() !== pathToFileURL(file).href) fetched.push(req.url());
      });
      await page.evaluateOnNewDocument(
        `window.cspViolations = []; document.addEventListener('securitypolicyviolation', ` +
          `(e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));`,
      );
      await page.setViewport({ width: 1200, height: 900 });
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      try {
        await page.waitForFunction(`document.body.dataset.chartsReady === 'true'`, { timeout: 15_000 });
      } catch (err) {
        const seen = await page.evaluate(
          `JSON.stringify({ csp: window.cspViolations, scripts: document.scripts.length, pwned: window.pwned })`,
        );
        assert.fail(
          `the charts never drew (${String(err)}): page errors ${JSON.stringify(errors)}, dialogs ` +
            `${JSON.stringify(dialogs)}, in the page ${String(seen)}`,
        );
      }
      const probe = (await page.evaluate(PAGE_PROBE)) as PageProbe;
      const shot = join(outDir, 'stats.png');
      await page.screenshot({ path: shot, fullPage: true });
      await page.close();
      t.diagnostic(`report and screenshot in ${outDir}`);

      assert.deepEqual(errors, []);
      assert.deepEqual(dialogs, []);
      assert.deepEqual(fetched, []);
      assert.deepEqual(probe.cspViolations, []);
      assert.equal(probe.pwned, undefined);
      assert.equal(probe.images, 0, 'a name became an element');
      assert.equal(probe.scripts, 3, 'a name became a script');
      for (const hostile of [HOSTILE_TOOL, HOSTILE_RULE, HOSTILE_PERSON, HOSTILE_GROUP]) {
        assert.ok(probe.text.includes(hostile), `the page does not show ${hostile} as text`);
      }

      const hostileRow = `${HOSTILE_TOOL} · hard · rule ${HOSTILE_RULE}`;
      const emailRow = 'send_email · hard · rule r1';
      const rows = probe.bar.labels;
      assert.deepEqual([...rows].sort(), [emailRow, hostileRow].sort());
      const counts = (row: string) =>
        Object.fromEntries(Object.entries(probe.bar.datasets).map(([end, data]) => [end, data[rows.indexOf(row)]]));
      assert.deepEqual(counts(emailRow), {
        'approved unedited': 4,
        edited: 0,
        rejected: 0,
        answered: 0,
        expired: 0,
        'proceeded unvetoed': 0,
        open: 0,
      });
      assert.deepEqual(counts(hostileRow), {
        'approved unedited': 0,
        edited: 1,
        rejected: 1,
        answered: 0,
        expired: 1,
        'proceeded unvetoed': 0,
        open: 1,
      });

      // Medians per day in minutes: sam's 2, 4, 6 on day 1 and 10 on day 2; the hostile tool's 3 and 5 (nearest rank).
      assert.deepEqual(probe.line.labels, ['2026-12-01', '2026-12-02']);
      assert.deepEqual(probe.line.datasets, { send_email: [4, 10], [HOSTILE_TOOL]: [null, 3] });

      assert.ok(probe.bar.inked > 2_000, `the bar chart looks blank (${probe.bar.inked} inked pixels)`);
      assert.ok(probe.bar.approvedInk > 500, `no approved bar drawn (${probe.bar.approvedInk} pixels of its colour)`);
      assert.ok(probe.line.inked > 2_000, `the line chart looks blank (${probe.line.inked} inked pixels)`);

      assert.equal(probe.recommendations.length, 4);
      assert.ok(
        probe.recommendations.some(
          (r) =>
            r.includes('send_email (hard gate) is approved unedited nearly always: consider a soft gate') &&
            r.includes('evidence: approved unedited 4 of 4 (100%)'),
        ),
        probe.recommendations.join('\n'),
      );
      assert.ok(
        probe.recommendations.some(
          (r) => r.includes(`${HOSTILE_TOOL}'s requests often expire`) && r.includes(`expired 1 of 3 (33%)`),
        ),
        probe.recommendations.join('\n'),
      );
      assert.ok(probe.text.includes('felix'));
      assert.ok(statSync(shot).size > 10_000, 'the screenshot is empty');
    });
  });
});
