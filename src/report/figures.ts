import type { Distribution, ReportData } from './data.js';

/**
 * The report's charts as data: a title, a text alternative with the key numbers (the figcaption,
 * which the chart's SVG points to with aria-describedby), the section, and how many data marks the
 * chart must draw (the browser test counts them). The drawing itself is in client.ts.
 */
export interface Figure {
  id: string;
  section: 'runs' | 'quality' | 'coefficients' | 'probabilities' | 'response' | 'recommendations';
  title: string;
  caption: string;
  /** Data marks (SVG elements of the marks tagged aria-description="data") the chart draws. */
  expectedMarks: number;
  wide?: boolean;
}

export const fmt = (x: number | null | undefined, digits = 3): string => {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return x.toLocaleString('en-US');
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return x.toExponential(2);
  return Number(x.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: 6 });
};

const pct = (a: number, b: number): string => (b === 0 ? '–' : `${((100 * a) / b).toFixed(1)}%`);

function histogramCaption(d: Distribution): string {
  const clipped = d.clipped > 0 ? ` ${fmt(d.clipped)} values beyond the 1st–99th percentile are counted in the end bins.` : '';
  return `${fmt(d.n)} groups: min ${fmt(d.min)}, median ${fmt(d.median)}, mean ${fmt(d.mean)}, max ${fmt(d.max)}.${clipped}`;
}

const nonEmpty = (d: Distribution): number => d.bins.filter((b) => b.count > 0).length;

export function figures(d: ReportData): Figure[] {
  const out: Figure[] = [];
  const runs = d.runs.filter((r) => r.seconds !== null);
  if (runs.length > 0) {
    const failed = d.runs.filter((r) => r.status !== 'succeeded' && r.status !== 'running').length;
    const train = runs.filter((r) => r.kind === 'train').map((r) => r.seconds!).sort((a, b) => a - b);
    out.push({
      id: 'runs-time',
      section: 'runs',
      title: 'Runs over time: how long each took',
      caption:
        `${d.runs.length} runs from ${d.runs[0].startedAt.slice(0, 16).replace('T', ' ')} to ${d.runs[d.runs.length - 1].startedAt.slice(0, 16).replace('T', ' ')} UTC; ` +
        (train.length > 0 ? `train runs took ${fmt(train[Math.floor(train.length / 2)])} s at the median, ${fmt(train[train.length - 1])} s at most; ` : '') +
        `${failed} did not succeed.`,
      expectedMarks: runs.length,
      wide: true,
    });
  }
  const trainRuns = d.runs.filter((r) => r.kind === 'train' && r.groupsOk !== null).slice(-30);
  if (trainRuns.length > 0) {
    const last = trainRuns[trainRuns.length - 1];
    out.push({
      id: 'runs-groups',
      section: 'runs',
      title: 'Groups fitted and failed per train run',
      caption: `The last ${trainRuns.length} train runs. The latest fitted ${fmt(last.groupsOk)} groups and failed ${fmt(last.groupsFailed)} (${pct(last.groupsFailed ?? 0, (last.groupsOk ?? 0) + (last.groupsFailed ?? 0))}).`,
      expectedMarks: trainRuns.reduce((n, r) => n + (r.groupsOk! > 0 ? 1 : 0) + (r.groupsFailed! > 0 ? 1 : 0), 0),
    });
  }
  if (d.failures.length > 0) {
    const total = d.failures.reduce((n, f) => n + f.count, 0);
    out.push({
      id: 'failures',
      section: 'runs',
      title: 'Failed groups by reason',
      caption: `${fmt(total)} failed groups: ${d.failures.map((f) => `${f.code} ${fmt(f.count)}`).join(', ')}.`,
      expectedMarks: d.failures.length,
    });
  }
  const dists = d.distributions.map((dist, i) => ({ dist, i })).filter(({ dist }) => dist.n > 0);
  dists.forEach(({ dist, i }, k) => {
    // two to a row; an odd last one takes the row
    const wide = k === dists.length - 1 && dists.length % 2 === 1;
    out.push({ id: `dist-${i}`, section: 'quality', title: `Distribution across groups: ${dist.name}${dist.split === 'held-out' ? ' (held out)' : ''}`, caption: histogramCaption(dist), expectedMarks: nonEmpty(dist), wide });
  });
  const coefs = d.coefficients.filter((c) => c.n > 0);
  if (coefs.length > 0) {
    out.push({
      id: 'coefficients',
      section: 'coefficients',
      title: 'Coefficients across groups, per feature',
      caption: coefs.map((c) => `${c.name}: median ${fmt(c.median)} (1%–99%: ${fmt(c.bins[0]?.x0)} to ${fmt(c.bins[c.bins.length - 1]?.x1)})`).join('; ') + '.',
      expectedMarks: coefs.reduce((n, c) => n + nonEmpty(c), 0),
      wide: true,
    });
  }
  if (d.calibration !== null) {
    const c = d.calibration;
    const worst = c.bins.reduce((w, b) => (Math.abs(b.observed - b.meanPredicted) > Math.abs(w.observed - w.meanPredicted) ? b : w), c.bins[0]);
    out.push({
      id: 'calibration',
      section: 'probabilities',
      title: 'Calibration: predicted probability against observed rate',
      caption:
        `${fmt(c.rows)} labelled rows of ${c.source}, pooled over groups, in ${c.bins.length} bins of predicted probability; Brier score ${fmt(c.brier)}. ` +
        `Largest gap: predicted ${fmt(worst.meanPredicted)} vs observed ${fmt(worst.observed)} (${fmt(worst.count)} rows).`,
      expectedMarks: c.bins.length,
    });
  }
  if (d.roc !== null) {
    const r = d.roc;
    out.push({
      id: 'roc',
      section: 'probabilities',
      title: 'ROC curve, pooled over groups',
      caption: `AUC ${fmt(r.auc, 4)} over ${fmt(r.positives)} positive and ${fmt(r.negatives)} negative rows of ${r.source} (thresholds in steps of 0.005).`,
      expectedMarks: 1,
    });
  }
  if (d.response !== null && d.response.curves.length > 0) {
    const r = d.response;
    const ends = r.curves.map((c) => c.points[c.points.length - 1].y - c.points[0].y);
    const up = ends.filter((e) => e > 0).length;
    out.push({
      id: 'response',
      section: 'response',
      title: `Response curves of ${r.curves.length} sampled groups over ${r.feature}`,
      caption:
        `The ${r.kind} as ${r.feature} goes from ${fmt(r.curves[0].points[0].x)} to ${fmt(r.curves[0].points[r.curves[0].points.length - 1].x)}, the other features held at their means over ${r.heldFrom}. ` +
        `It rises for ${up} of the ${r.curves.length} groups; the change over the range runs from ${fmt(Math.min(...ends))} to ${fmt(Math.max(...ends))}.`,
      expectedMarks: r.curves.length,
      wide: true,
    });
  }
  if (d.recommendations !== null) {
    const r = d.recommendations;
    if (r.topPicks.length > 0) {
      out.push({
        id: 'rec-top',
        section: 'recommendations',
        title: 'Most recommended candidates (rank 1)',
        caption: `${fmt(r.rows)} recommendations for ${fmt(r.groups)} groups in ${r.table}. Top pick: ${r.topPicks[0].candidate} for ${fmt(r.topPicks[0].count)} groups (${pct(r.topPicks[0].count, r.groups)}).`,
        expectedMarks: r.topPicks.length,
      });
    }
    if (r.scores.n > 0) {
      out.push({ id: 'rec-score', section: 'recommendations', title: 'Score of each group\'s top recommendation', caption: histogramCaption(r.scores).replace('groups:', 'top recommendations:'), expectedMarks: nonEmpty(r.scores) });
    }
  }
  return out;
}
