import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { drawCharts } from './client.js';
import type { ReportData } from './data.js';
import { type Figure, figures, fmt } from './figures.js';

/** The UMD bundles of d3 and Observable Plot, read from their npm packages once. */
let bundles: string | null = null;
function libraries(): string {
  if (bundles === null) {
    const require = createRequire(import.meta.url);
    // the packages export only their ESM entry (src/index.js); the UMD bundle sits beside it in dist/
    const file = (pkg: string, name: string) => readFileSync(join(dirname(require.resolve(pkg)), '..', 'dist', name), 'utf8');
    bundles = [file('d3', 'd3.min.js'), file('@observablehq/plot', 'plot.umd.min.js')].map(inlineScript).join('\n');
  }
  return bundles;
}

/** Script text made safe inside <script>: no "</script" or "<!--" can end or change the element. */
function inlineScript(js: string): string {
  return `<script>${js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--')}</script>`;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const SECTIONS: { id: Figure['section']; title: string; intro: string }[] = [
  { id: 'runs', title: 'Runs and failures', intro: 'From the run catalog (manymodels.runs) and the models table\'s status and error columns.' },
  { id: 'quality', title: 'The models across groups', intro: 'How much data each group had, how hard the solver worked, and how well each model fits. Held-out metrics appear here beside the training ones when a run records them.' },
  { id: 'coefficients', title: 'Coefficients', intro: 'Each named feature\'s coefficient over all fitted groups (1st–99th percentile range; the dashed line is the median).' },
  { id: 'probabilities', title: 'Probabilities against outcomes', intro: 'Every labelled, scored row of the predictions table, pooled over groups.' },
  { id: 'response', title: 'Response curves', intro: 'What single groups\' models predict as one feature varies.' },
  { id: 'recommendations', title: 'Recommendations', intro: 'What recommend chose.' },
];

function tile(label: string, value: string, tone = '', small = ''): string {
  return `<div class="tile ${tone}"><div class="v">${esc(value)}${small ? ` <small>${esc(small)}</small>` : ''}</div><div class="l">${esc(label)}</div></div>`;
}

function table(head: string[], rows: string[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** The report as one HTML document: the data, d3 and Plot inlined; no request leaves the page. */
export function renderReport(data: ReportData): string {
  const figs = figures(data);
  const m = data.models;
  const total = m.groupsOk + m.groupsFailed;
  const tiles = [
    tile('groups fitted', fmt(m.groupsOk), 'ok'),
    tile('groups failed', fmt(m.groupsFailed), m.groupsFailed > 0 ? 'bad' : '', total === 0 ? '' : `${((100 * m.groupsFailed) / total).toFixed(1)}%`),
    tile('rows used', fmt(m.rowsUsed)),
    tile('converged', m.groupsOk === 0 ? '–' : `${((100 * (m.groupsOk - m.notConverged)) / m.groupsOk).toFixed(1)}%`),
  ];
  if (data.roc !== null) tiles.push(tile('AUC (pooled)', data.roc.auc.toFixed(3)));
  if (data.calibration !== null) tiles.push(tile('Brier score', fmt(data.calibration.brier)));
  if (data.recommendations !== null) tiles.push(tile('groups recommended', fmt(data.recommendations.groups)));

  const sections = SECTIONS.map((s) => {
    const mine = figs.filter((f) => f.section === s.id);
    const note = data.notes[s.id === 'probabilities' ? 'calibration' : s.id] ?? (s.id === 'probabilities' ? data.notes.roc : undefined);
    let extra = '';
    if (s.id === 'runs') {
      const latest = [...data.runs].reverse().slice(0, 8);
      if (latest.length > 0) {
        extra += `<h3 class="tt">Latest runs</h3>${table(
          ['started (UTC)', 'kind', 'status', 'seconds', 'output', 'groups ok', 'failed'],
          latest.map((r) => [r.startedAt.slice(0, 19).replace('T', ' '), r.kind, r.status, r.seconds === null ? '' : r.seconds.toFixed(2), r.output ?? '', fmt(r.groupsOk), fmt(r.groupsFailed)]),
        )}`;
      }
      if (data.failures.length > 0) extra += `<h3 class="tt">Failure reasons, with an example each</h3>${table(['code', 'groups', 'example'], data.failures.map((f) => [f.code, fmt(f.count), f.example]))}`;
    }
    if (s.id === 'recommendations' && data.recommendations !== null) {
      const r = data.recommendations;
      extra += `<h3 class="tt">By rank</h3>${table(['rank', 'recommendations', 'mean score'], r.byRank.map((b) => [String(b.rank), fmt(b.count), fmt(b.meanScore)]))}`;
    }
    if (mine.length === 0 && extra === '' && note === undefined) return '';
    const body = mine
      .map(
        (f) =>
          `<figure data-chart="${f.id}" data-expected-marks="${f.expectedMarks}" class="card${f.wide ? ' wide' : ''}" role="group" aria-labelledby="${f.id}-title">` +
          `<h3 id="${f.id}-title">${esc(f.title)}</h3><div class="chart"></div><figcaption id="${f.id}-caption">${esc(f.caption)}</figcaption></figure>`,
      )
      .join('');
    return `<section id="${s.id}"><h2>${esc(s.title)}</h2><p class="intro">${esc(s.intro)}</p>${note ? `<p class="note">${esc(note)}</p>` : ''}<div class="grid">${body}</div>${extra}</section>`;
  }).join('\n');

  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(data.title)}</title>
<style>
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --bg: #f5f7fa; --ok: #2f8f83; --bad: #d1603d; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 22px 32px 18px; }
header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 650; }
header .meta { color: var(--muted); font-size: 13px; }
main { max-width: 1220px; margin: 0 auto; padding: 8px 24px 40px; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 18px 0 4px; }
.tile { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 10px 16px; flex: 1 1 120px; }
.tile .v { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
.tile .l { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.tile .v small { font-size: 13px; font-weight: 500; color: var(--muted); }
.tile.ok .v { color: var(--ok); } .tile.bad .v { color: var(--bad); }
section { margin-top: 26px; }
h2 { font-size: 17px; margin: 0 0 2px; }
p.intro { color: var(--muted); margin: 0 0 12px; }
p.note { background: #fffbea; border: 1px solid #f7e3a1; border-radius: 8px; padding: 8px 12px; margin: 0 0 12px; }
.grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
figure.card { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px 12px; min-width: 0; }
figure.card.wide { grid-column: 1 / -1; }
figure.card h3 { font-size: 14px; margin: 0 0 8px; font-weight: 600; }
figure.card .chart { display: flex; flex-wrap: wrap; gap: 6px 18px; overflow-x: auto; }
figure.card .chart svg { max-width: 100%; height: auto; }
figure.card .chart figure { margin: 0; }
figcaption { color: var(--muted); font-size: 12.5px; margin-top: 6px; }
h3.tt { font-size: 14px; margin: 18px 0 6px; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); border-radius: 8px; font-size: 13px; width: 100%; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); }
th { color: var(--muted); font-weight: 600; }
td { font-variant-numeric: tabular-nums; max-width: 520px; overflow-wrap: anywhere; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 24px; }
@media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header><h1>${esc(data.title)}</h1>
<div class="meta">${esc(`${m.estimator} per ${m.group.join(', ')} on ${m.features.join(', ') || '(no features)'}${m.label ? ` → ${m.label}` : ''} · models table ${m.table} · generated ${data.generatedAt.slice(0, 19).replace('T', ' ')} UTC by manymodels ${data.version}`)}</div></header>
<main>
<div class="tiles">${tiles.join('')}</div>
${sections}
</main>
<footer>Self-contained: the charts are drawn by Observable Plot and d3, inlined in this file. No request leaves the page.</footer>
<script type="application/json" id="report-data">${json}</script>
${libraries()}
${inlineScript(`var __name = function (f) { return f; };\n(${drawCharts.toString()})(Plot, JSON.parse(document.getElementById('report-data').textContent), document);`)}
</body>
</html>
`;
}
