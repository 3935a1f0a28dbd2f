/* eslint-disable @typescript-eslint/no-explicit-any */
/**
 * The charts, drawn in the browser with Observable Plot (inlined into the report with d3). This
 * function is serialised with toString() into the HTML, so it must use nothing but its arguments
 * and browser globals. Each chart's data marks carry aria-description="data" (the browser test
 * counts their elements); the SVG is labelled with the figure's title and described by its caption.
 */
export function drawCharts(Plot: any, data: any, doc: any): void {
  const OK = '#2f8f83';
  const FAILED = '#d1603d';
  const INK = '#1f2933';
  const W = 560;
  const H = 280;
  const base = { width: W, height: H, marginLeft: 56, marginBottom: 40, style: { fontSize: '12px', color: INK, background: 'transparent', overflow: 'visible' } };
  // counts on axes: 0, 950, 1.5k, 20k, 1.2M
  const si = (v: number): string => {
    const a = Math.abs(v);
    if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
    if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
    return String(+v.toFixed(2));
  };
  const hist = (d: any, label: string, color: string, opts: any = {}): any =>
    Plot.plot({
      ...base,
      ...opts,
      x: { label, nice: false },
      y: { label: 'groups', grid: true, nice: true, tickFormat: si },
      marks: [
        Plot.rectY(d.bins.filter((b: any) => b.count > 0), { x1: 'x0', x2: 'x1', y: 'count', fill: color, inset: 0.5, ariaDescription: 'data', title: (b: any) => `${b.x0.toPrecision(3)} – ${b.x1.toPrecision(3)}: ${b.count}` }),
        Plot.ruleY([0], { stroke: INK }),
        ...(d.median === null ? [] : [Plot.ruleX([d.median], { stroke: INK, strokeDasharray: '4 3', strokeOpacity: 0.7 })]),
      ],
    });
  const charts: Record<string, (width: number) => any | any[]> = {
    'runs-time': (width: number) => {
      const runs = data.runs.filter((r: any) => r.seconds !== null).map((r: any) => ({ ...r, t: new Date(r.startedAt) }));
      return Plot.plot({
        ...base,
        width,
        x: { label: 'started (UTC)', type: 'utc', ticks: width > 800 ? 10 : 5 },
        y: { label: 'seconds', grid: true, zero: true, nice: true },
        color: { legend: true, domain: ['train', 'predict', 'recommend'], range: [OK, '#4c6ef5', '#b7791f'] },
        symbol: { legend: true, domain: ['succeeded', 'failed', 'cancelled', 'abandoned'] },
        marks: [Plot.ruleY([0], { stroke: INK }), Plot.dot(runs, { x: 't', y: 'seconds', stroke: 'kind', symbol: 'status', r: 4, strokeWidth: 1.6, ariaDescription: 'data', title: (r: any) => `${r.kind} ${r.status} ${r.output ?? ''}\n${r.startedAt} · ${r.seconds.toFixed(2)} s` })],
      });
    },
    'runs-groups': () => {
      const runs = data.runs.filter((r: any) => r.kind === 'train' && r.groupsOk !== null).slice(-30);
      const rows = runs.flatMap((r: any, i: number) => [
        { run: i + 1, status: 'ok', count: r.groupsOk, id: r.runId },
        { run: i + 1, status: 'failed', count: r.groupsFailed, id: r.runId },
      ]).filter((r: any) => r.count > 0);
      return Plot.plot({
        ...base,
        x: { label: 'train run (oldest → latest)', type: 'band', tickFormat: (i: number) => (runs.length > 12 && i % 5 !== 0 ? '' : String(i)) },
        y: { label: 'groups', grid: true, tickFormat: si },
        color: { legend: true, domain: ['ok', 'failed'], range: [OK, FAILED] },
        marks: [Plot.barY(rows, { x: 'run', y: 'count', fill: 'status', ariaDescription: 'data', title: (r: any) => `run ${r.id.slice(0, 8)}: ${r.count} ${r.status}` }), Plot.ruleY([0], { stroke: INK })],
      });
    },
    failures: () =>
      Plot.plot({
        ...base,
        height: Math.max(120, 36 * data.failures.length + 50),
        marginLeft: 150,
        marginRight: 50,
        x: { label: 'failed groups', grid: true, tickFormat: si },
        y: { label: null, domain: data.failures.map((f: any) => f.code) },
        marks: [
          Plot.barX(data.failures, { y: 'code', x: 'count', fill: FAILED, ariaDescription: 'data', title: (f: any) => `${f.code}: ${f.count}\ne.g. ${f.example}` }),
          Plot.text(data.failures, { y: 'code', x: 'count', text: (f: any) => f.count.toLocaleString('en-US'), dx: 4, textAnchor: 'start', fill: INK }),
          Plot.ruleX([0], { stroke: INK }),
        ],
      }),
    coefficients: () => {
      const shown = data.coefficients.filter((c: any) => c.n > 0);
      const width = Math.max(260, Math.floor(1150 / Math.min(shown.length, 4)) - 20);
      return shown.map((c: any) => {
          const svg = hist(c, c.name, c.name === 'intercept' ? '#7b8794' : '#4c6ef5', { width, height: 190, marginLeft: 44, marginBottom: 36 });
          svg.setAttribute('aria-label', `coefficient of ${c.name} across groups`);
          return svg;
        });
    },
    calibration: () => {
      const c = data.calibration;
      return Plot.plot({
        ...base,
        height: 320,
        x: { label: 'mean predicted probability', domain: [0, 1], grid: true },
        y: { label: 'observed rate', domain: [0, 1], grid: true },
        r: { range: [3, 12] },
        marks: [
          Plot.line([[0, 0], [1, 1]], { stroke: '#9aa5b1', strokeDasharray: '4 4' }),
          Plot.line(c.bins, { x: 'meanPredicted', y: 'observed', stroke: '#4c6ef5', strokeWidth: 1.5 }),
          Plot.dot(c.bins, { x: 'meanPredicted', y: 'observed', r: 'count', fill: '#4c6ef5', fillOpacity: 0.85, stroke: 'white', ariaDescription: 'data', title: (b: any) => `predicted ${b.meanPredicted.toFixed(3)}, observed ${b.observed.toFixed(3)}, ${b.count} rows` }),
        ],
      });
    },
    roc: () => {
      const r = data.roc;
      return Plot.plot({
        ...base,
        height: 320,
        x: { label: 'false positive rate', domain: [0, 1], grid: true },
        y: { label: 'true positive rate', domain: [0, 1], grid: true },
        marks: [
          Plot.line([[0, 0], [1, 1]], { stroke: '#9aa5b1', strokeDasharray: '4 4' }),
          Plot.areaY(r.points, { x: 'fpr', y: 'tpr', fill: '#4c6ef5', fillOpacity: 0.08, curve: 'step-after' }),
          Plot.line(r.points, { x: 'fpr', y: 'tpr', stroke: '#4c6ef5', strokeWidth: 2, ariaDescription: 'data' }),
          Plot.text([`AUC ${r.auc.toFixed(3)}`], { frameAnchor: 'bottom-right', dx: -12, dy: -12, fontSize: 14, fontWeight: 600, fill: INK }),
        ],
      });
    },
    response: () => {
      const r = data.response;
      const rows = r.curves.flatMap((c: any) => c.points.map((p: any) => ({ group: c.group, x: p.x, y: p.y })));
      return Plot.plot({
        ...base,
        width: 1140,
        height: 320,
        x: { label: r.feature, grid: true },
        y: { label: r.kind, grid: true, ...(r.kind === 'probability' ? { domain: [0, 1] } : {}) },
        color: { type: 'categorical', scheme: 'tableau10', legend: true, label: data.models.group.join(' · ') },
        marks: [
          Plot.line(rows, { x: 'x', y: 'y', z: 'group', stroke: 'group', strokeWidth: 1.8, ariaDescription: 'data', title: (d: any) => `group ${d.group}` }),
        ],
      });
    },
    'rec-top': () => {
      const r = data.recommendations;
      return Plot.plot({
        ...base,
        height: Math.max(120, 26 * r.topPicks.length + 50),
        marginLeft: 120,
        marginRight: 50,
        x: { label: 'groups for which it is the top pick', grid: true, tickFormat: si },
        y: { label: null, domain: r.topPicks.map((t: any) => t.candidate) },
        marks: [
          Plot.barX(r.topPicks, { y: 'candidate', x: 'count', fill: '#b7791f', ariaDescription: 'data', title: (t: any) => `${t.candidate}: ${t.count}` }),
          Plot.text(r.topPicks, { y: 'candidate', x: 'count', text: (t: any) => t.count.toLocaleString('en-US'), dx: 4, textAnchor: 'start', fill: INK }),
          Plot.ruleX([0], { stroke: INK }),
        ],
      });
    },
    'rec-score': () => hist(data.recommendations.scores, 'score', '#b7791f'),
  };
  data.distributions.forEach((d: any, i: number) => {
    charts[`dist-${i}`] = (width: number) => hist(d, d.name, d.split === 'held-out' ? '#8e44ad' : d.split === 'training' ? '#4c6ef5' : OK, { width });
  });
  for (const fig of doc.querySelectorAll('figure[data-chart]')) {
    const id = fig.getAttribute('data-chart');
    const host = fig.querySelector('.chart');
    const title = fig.querySelector('h3').textContent;
    const made = charts[id](fig.classList.contains('wide') ? 1140 : W);
    for (const el of Array.isArray(made) ? made : [made]) {
      // a chart with a legend comes as a <figure> of legend and SVG: the SVG is its last
      const svgs = el.tagName.toLowerCase() === 'svg' ? [el] : el.querySelectorAll('svg');
      const svg = svgs[svgs.length - 1];
      if (!svg.getAttribute('aria-label')) svg.setAttribute('aria-label', title);
      svg.setAttribute('role', 'img');
      svg.setAttribute('aria-describedby', `${id}-caption`);
      host.appendChild(el);
    }
  }
}
