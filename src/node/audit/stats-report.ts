import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { HitlError } from '../../shared/errors';
import { escapeHtml as h, escapeTerminal, jsonForHtmlScript } from '../../shared/render/escape';
import type { Recommendation } from './recommend';
import type { AuditStats, DecisionSeries, GateStats, RequestEnd } from './stats';

/** What the HTML report of `hitl stats --html` shows. */
export interface StatsReportInput {
  /** The figures of {@link auditStats}. */
  stats: AuditStats;
  /** The recommendations of {@link recommend}. */
  recommendations: readonly Recommendation[];
  /** Time to decision per tool and day, from {@link decisionTimesByDay}. */
  series: readonly DecisionSeries[];
  /** The source of Chart.js's browser (UMD) bundle, inlined as it is: see {@link chartJsBundle}. */
  chartJs: string;
  /** When the report was made (ISO-8601), shown in its header. */
  generatedAt: string;
}

/** How each end is named and coloured in the decision mix, in the order the bars stack. */
const ENDS: readonly [end: RequestEnd, label: string, colour: string][] = [
  ['approved', 'approved unedited', '#2e7d32'],
  ['edited', 'edited', '#1565c0'],
  ['rejected', 'rejected', '#c62828'],
  ['responded', 'answered', '#6a1b9a'],
  ['expired', 'expired', '#ef6c00'],
  ['proceeded', 'proceeded unvetoed', '#00838f'],
  ['open', 'open', '#9e9e9e'],
];

const LINE_COLOURS = ['#1565c0', '#c62828', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f', '#5d4037', '#ad1457'];

// The page's own script. It takes no value from the store: the data arrives as JSON in #report-data. Animation is off
// so each chart draws once; a plugin marks the body when every chart has drawn (the browser test waits on it).
const PAGE_SCRIPT = `(() => {
  'use strict';
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const charts = [];
  const drawn = new Set();
  const ready = {
    id: 'reportReady',
    afterRender(chart) {
      drawn.add(chart.canvas.id);
      if (drawn.size === charts.length) document.body.dataset.chartsReady = 'true';
    },
  };
  const mixCanvas = document.getElementById('mix-chart');
  if (mixCanvas !== null) charts.push(() => {
    mixCanvas.parentElement.style.height = Math.max(160, 60 + 32 * data.mix.labels.length) + 'px';
    return new Chart(mixCanvas, {
      type: 'bar',
      data: {
        labels: data.mix.labels,
        datasets: data.mix.datasets.map((d) => ({ label: d.label, data: d.data, backgroundColor: d.colour })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: 'y',
        scales: {
          x: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'requests' } },
          y: { stacked: true },
        },
      },
      plugins: [ready],
    });
  });
  const timesCanvas = document.getElementById('times-chart');
  if (timesCanvas !== null) charts.push(() => new Chart(timesCanvas, {
    type: 'line',
    data: {
      labels: data.times.labels,
      datasets: data.times.datasets.map((d) => ({
        label: d.label, data: d.data, borderColor: d.colour, backgroundColor: d.colour, spanGaps: true,
      })),
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        x: { title: { display: true, text: 'day of the closing decision (UTC)' } },
        y: { beginAtZero: true, title: { display: true, text: 'median time to decision (min)' } },
      },
    },
    plugins: [ready],
  }));
  for (const draw of charts) draw();
  if (charts.length === 0) document.body.dataset.chartsReady = 'true';
})();`;

const STYLE = `body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.chart { position: relative; height: 320px; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.evidence { color: #555; margin: 0.2rem 0 0.8rem; }
.note { color: #555; }`;

/**
 * The HTML report of `hitl stats --html`: one self-contained page (Chart.js inlined, nothing fetched) with the
 * decision mix per tool, gate and rule as a stacked bar chart, the median time to decision per tool and day as a
 * line chart, the recommendations with their evidence, and the tables per row, person and group.
 *
 * Every string from the store is escaped where it is shown: {@link escapeHtml} in the tables and the
 * recommendations, {@link escapeTerminal} in chart labels (drawn on a canvas, never parsed as HTML), and the charts'
 * data travels as JSON in a `<script type="application/json">` element with `<`, `>`, `&`, U+2028 and U+2029
 * escaped ({@link jsonForHtmlScript}), so no name can end the element. A Content-Security-Policy allows the page's
 * two scripts and its style by hash, and nothing else: no other script, no fetch, no image, no form.
 *
 * A pure function: the same input gives the same page.
 * @param input - the figures, the recommendations, the series, Chart.js's source and the time of the report
 * @returns the HTML document
 * @throws HitlError when the Chart.js source holds `</script` or `<!--` (it could not be inlined as it is)
 */
export function statsReportHtml(input: StatsReportInput): string {
  const { stats, recommendations, series } = input;
  const chartJs = input.chartJs.replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n');
  if (/<\/script|<!--/i.test(chartJs))
    throw new HitlError('the Chart.js bundle holds </script or <!-- : cannot inline it');
  const days = [...new Set(series.flatMap((s) => s.days.map((d) => d.day)))].sort();
  const data = {
    mix: {
      labels: stats.gates.map((row) => escapeTerminal(rowLabel(row))),
      datasets: ENDS.map(([end, label, colour]) => ({ label, colour, data: stats.gates.map((row) => row.ends[end]) })),
    },
    times: {
      labels: days,
      datasets: series.map((s, i) => {
        const byDay = new Map(s.days.map((d) => [d.day, Math.round(d.medianMs / 600) / 100]));
        return {
          label: escapeTerminal(s.tool),
          colour: LINE_COLOURS[i % LINE_COLOURS.length] ?? '#222',
          data: days.map((day) => byDay.get(day) ?? null),
        };
      }),
    },
  };
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(chartJs)} ${sha256(PAGE_SCRIPT)}`,
    `style-src ${sha256(STYLE)}`,
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${h(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hitl stats</title>
<style>${STYLE}</style>
</head>
<body>
<h1>What the decisions say</h1>
<p>${stats.requests} approval request(s) since ${h(stats.since ?? 'the beginning')}; report made ${h(input.generatedAt)}.</p>
<h2>How requests ended, per tool, gate and rule</h2>
${stats.gates.length > 0 ? '<div class="chart"><canvas id="mix-chart" role="img" aria-label="decision mix per tool, gate and rule"></canvas></div>' : '<p class="note">no approval requests in the window</p>'}
${gateTable(stats.gates)}
<h2>Time to decision over time</h2>
${days.length > 0 ? '<div class="chart"><canvas id="times-chart" role="img" aria-label="median time to decision per tool and day"></canvas></div>' : '<p class="note">no decision closed a request in the window</p>'}
<h2>Recommendations</h2>
${recommendationList(recommendations)}
<h2>Decisions per person</h2>
${table(
  ['person', 'approved', 'edited', 'rejected', 'answered'],
  stats.people.map((p) => [h(p.person), p.approved, p.edited, p.rejected, p.responded]),
)}
<h2>Approvals per group</h2>
${table(
  ['group', 'approvals'],
  stats.groups.map((g) => [h(g.group), g.approvals]),
)}
<script type="application/json" id="report-data">${jsonForHtmlScript(data)}</script>
<script>${chartJs}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/**
 * Reads Chart.js's browser bundle (`chart.umd.min.js`) from the installed `chart.js` package, to inline in the report.
 * @returns the bundle's source
 * @throws HitlError when the `chart.js` package or its bundle is not installed (run `npm install`)
 */
export function chartJsBundle(): string {
  try {
    // The package exports no path to its UMD file; it sits beside the CommonJS entry.
    const entry = createRequire(import.meta.url).resolve('chart.js');
    return readFileSync(join(dirname(entry), 'chart.umd.min.js'), 'utf8');
  } catch (err) {
    throw new HitlError(`cannot read the Chart.js browser bundle (is chart.js installed? run npm install)`, {
      cause: err,
    });
  }
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function rowLabel(row: GateStats): string {
  return `${row.tool} · ${row.gate} · ${row.rule !== '' ? `rule ${row.rule}` : 'own gate'}`;
}

/** A table; cells are numbers or HTML already escaped. */
function table(head: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  if (rows.length === 0) return '<p class="note">none</p>';
  const cell = (c: string | number) => (typeof c === 'number' ? `<td class="n">${c}</td>` : `<td>${c}</td>`);
  return [
    '<table>',
    `<thead><tr>${head.map((c) => `<th>${h(c)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n');
}

function gateTable(gates: readonly GateStats[]): string {
  return table(
    [
      'tool',
      'gate',
      'rule',
      'requests',
      ...ENDS.map(([, label]) => label),
      'escalated',
      'precheck stopped',
      'median',
      'p90',
    ],
    gates.map((row) => [
      h(row.tool),
      h(row.gate),
      row.rule !== '' ? h(row.rule) : "the tool's own gate",
      row.requests,
      ...ENDS.map(([end]) => row.ends[end]),
      row.escalated,
      row.precheckStopped,
      minutes(row.medianDecisionMs),
      minutes(row.p90DecisionMs),
    ]),
  );
}

function recommendationList(recommendations: readonly Recommendation[]): string {
  if (recommendations.length === 0) return '<p class="note">no recommendations</p>';
  return [
    '<p class="note">None is applied: edit the policy to act on one.</p>',
    '<ul id="recommendations">',
    ...recommendations.map(
      (r) => `<li><p class="advice">${h(r.advice)}</p><p class="evidence">evidence: ${h(r.evidence)}</p></li>`,
    ),
    '</ul>',
  ].join('\n');
}

function minutes(ms: number | undefined): string {
  return ms === undefined ? '–' : `${(ms / 60_000).toFixed(1)} min`;
}
