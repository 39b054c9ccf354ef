// One suite's report: everything it prints (tee'd into
// bench/results/<suite>.md), its tables (drawn into
// bench/results/<suite>.svg by svg.js) and its targets, printed as a
// summary table at the end: target / measured ratio / met?.
//
// Ratios in the chart are always "higher is better" (ops/s against the
// baseline). A target is { target, kind, bound, paired, table, row }:
//   kind 'speed': the case must reach `bound` x the reference's ops/s;
//   kind 'time':  the case may take at most `bound` x the reference's time
//                 (drawn as a speed bound of 1/bound).
// `paired` is pairedRatio's result (b = the case, a = the reference) and is
// what decides; `table` is { caseHz, refHz } from the tables, for context.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { barChart } from './svg.js';

export const RESULTS_DIR = process.env.BENCH_RESULTS_DIR ?? fileURLToPath(new URL('../results', import.meta.url));

let current = null;

export class Report {
  constructor(suite) {
    this.suite = suite;
    this.lines = [];
    this.groups = [];
    this.targets = [];
  }

  /** A table (from runGroup, or hand-made: rows of { name, hz, ratio, baseline, unit? }). */
  addGroup(title, results, { unit = 'ops/s' } = {}) {
    const group = { title, unit, rows: results.map((r) => ({ ...r })) };
    this.groups.push(group);
    return group;
  }

  /** Records a target (see the header); returns whether it is met. */
  addTarget(t) {
    const measured = t.measured ?? (t.kind === 'speed' ? t.paired.aUs / t.paired.bUs : t.paired.bUs / t.paired.aUs);
    const met = t.met ?? (t.kind === 'speed' ? measured >= t.bound : measured <= t.bound);
    this.targets.push({ ...t, measured, met });
    return met;
  }

  printTargets() {
    if (this.targets.length === 0) return;
    console.log(`\n### targets (${this.suite})\n`);
    console.log('| target | measured ratio | met? | detail |');
    console.log('|---|---:|---|---|');
    for (const t of this.targets) {
      const unit = t.kind === 'speed' ? "x the reference's speed" : "x the reference's time";
      console.log(`| ${t.target} | ${t.measured.toFixed(2)}${unit} | ${t.met ? 'met' : 'NOT met'} | ${t.detail ?? describeTarget(t)} |`);
    }
    console.log(
      `\n${
        this.measuredNote ??
        'Measured ratio: from an interleaved run (pairedRatio in bench/lib/harness.js: alternating blocks of the two operations, median of the per-round ratios), which holds up when the load of a shared machine changes; the tables measure cases one after the other.'
      }`,
    );
  }

  /** The chart: every table as a section; a target is drawn on the row it names. */
  chart() {
    const sections = this.groups.map((g) => ({
      title: g.title,
      rows: g.rows.map((r) => {
        const targets = this.targets.filter((t) => t.row && t.row.group === g.title && t.row.case === r.name);
        return {
          label: r.name,
          ratio: r.ratio,
          baseline: r.baseline,
          value: r.error ? 'error' : `${fmtHz(r.hz)} ${g.unit}`,
          note: r.note,
          targets: targets.map((t) => ({
            bound: chartBound(t, g, t.kind === 'speed' ? t.bound : 1 / t.bound),
            measured: chartBound(t, g, t.kind === 'speed' ? t.measured : 1 / t.measured),
            met: t.met,
            label: t.target,
          })),
        };
      }),
    }));
    return barChart({ title: `wasm-session benchmarks: suite ${this.suite}`, sections, unit: this.groups[0]?.unit });
  }

  write() {
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const md = path.join(RESULTS_DIR, `${this.suite}.md`);
    fs.writeFileSync(md, `${this.lines.join('\n')}\n`);
    const files = [md];
    if (this.groups.length) {
      const svg = path.join(RESULTS_DIR, `${this.suite}.svg`);
      fs.writeFileSync(svg, this.chart());
      files.push(svg);
    }
    return files;
  }
}

/**
 * A speed ratio against the target's reference, as a ratio against the
 * row's own table baseline (for the chart): the same number when the
 * reference is that baseline, else scaled by the reference's ratio in the
 * same table.
 */
function chartBound(t, group, speedRatio) {
  const ref = t.row.reference === undefined ? group.rows.find((r) => r.baseline) : group.rows.find((r) => r.name === t.row.reference);
  return speedRatio * (ref?.ratio ?? 1);
}

function describeTarget(t) {
  const parts = [];
  if (t.paired) parts.push(`paired: ${fmtUs(t.paired.bUs)} vs ${fmtUs(t.paired.aUs)} µs`);
  if (t.table) {
    const r = t.kind === 'speed' ? t.table.caseHz / t.table.refHz : t.table.refHz / t.table.caseHz;
    parts.push(`tables: ${fmtUs(1e6 / t.table.caseHz)} vs ${fmtUs(1e6 / t.table.refHz)} µs (${r.toFixed(2)}x)`);
  }
  return parts.join('; ');
}

export const fmtHz = (hz) => (hz >= 100 ? Math.round(hz).toLocaleString('en-US') : hz.toFixed(2));
export const fmtUs = (us) => (us >= 100 ? Math.round(us).toLocaleString('en-US') : us >= 10 ? us.toFixed(1) : us.toFixed(2));

/** Starts a suite's report: from now on console.log also goes into it. */
export function beginReport(suite) {
  const report = new Report(suite);
  const log = console.log;
  report.restore = () => {
    console.log = log;
  };
  console.log = (...args) => {
    report.lines.push(args.map((a) => (typeof a === 'string' ? a : String(a))).join(' '));
    log(...args);
  };
  current = report;
  return report;
}

export function endReport(report) {
  report.printTargets();
  report.restore();
  current = null;
  return report.write();
}

/** The report of the suite running now (runGroup adds its tables to it). */
export function currentReport() {
  return current;
}
