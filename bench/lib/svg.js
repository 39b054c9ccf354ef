// A hand-written SVG bar chart of a suite's ratios: one section per table,
// one horizontal bar per case from the baseline (1.0) to the case's ratio on
// a log scale (so 0.05x and 40x both fit), labelled with the ratio and the
// ops/s; a target, where a case has one, is a dashed line across its bar
// with a diamond at the interleaved run's ratio that decides it, and the bar
// is green when the target is met, red when not.
//
// barChart({ title, subtitle?, sections: [{ title, rows: [{ label, ratio,
//   value, baseline?, targets?: [{ bound, measured?, met, label }] }] }] }) -> SVG text.

const WIDTH = 1060;
const LABEL_W = 440;
const PLOT_W = 440;
const ROW_H = 22;
const BAR_H = 14;
const SECTION_GAP = 34;
const TOP = 64;
const FONT = 'font-family="DejaVu Sans, Arial, Helvetica, sans-serif"';

const COLORS = { plain: '#5b7fb5', met: '#3a9a57', missed: '#c8453b', baseline: '#555555', target: '#b0221b', grid: '#dddddd' };

export function escapeXml(text) {
  return String(text).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]);
}

/** Shortens `text` to about `max` characters (the full text stays in a tooltip). */
function clip(text, max) {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Ticks 1, 2, 5 x 10^k covering [lo, hi]. */
function ticks(lo, hi) {
  const out = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) out.push(v);
    }
  }
  return out;
}

export const fmtRatio = (r) => (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2));
const fmtTick = (v) => (v >= 1 ? String(v) : v.toPrecision(1));

export function barChart({ title, subtitle, sections, unit = 'ops/s' }) {
  const rows = sections.flatMap((s) => s.rows).filter((r) => Number.isFinite(r.ratio) && r.ratio > 0);
  const values = [1, ...rows.map((r) => r.ratio), ...rows.flatMap((r) => (r.targets ?? []).flatMap((t) => [t.bound, t.measured].filter((v) => v > 0)))];
  const lo = Math.min(...values) / 1.25;
  const hi = Math.max(...values) * 1.25;
  const x = (v) => LABEL_W + ((Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * PLOT_W;
  const height = TOP + sections.reduce((h, s) => h + SECTION_GAP + s.rows.length * ROW_H, 0) + 40;

  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT} font-size="12">`);
  out.push(`<title>${escapeXml(title)}</title>`);
  out.push(`<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="12" y="22" font-size="16" font-weight="bold">${escapeXml(title)}</text>`);
  out.push(
    `<text x="12" y="42" fill="#444">${escapeXml(subtitle ?? `bars: ${unit} against each table's baseline (1.0), log scale; dashed red line: a target; black diamond: the measured ratio that decides it (interleaved where the suite says so); green/red: met/not met`)}</text>`,
  );

  // Grid and axis labels, over the whole height.
  const gridTop = TOP - 8;
  const gridBottom = height - 34;
  for (const t of ticks(lo, hi)) {
    const gx = x(t).toFixed(1);
    const one = t === 1;
    out.push(
      `<line x1="${gx}" y1="${gridTop}" x2="${gx}" y2="${gridBottom}" stroke="${one ? COLORS.baseline : COLORS.grid}" stroke-width="${one ? 1.5 : 1}"/>`,
    );
    out.push(`<text x="${gx}" y="${gridBottom + 16}" text-anchor="middle" fill="#444">${fmtTick(t)}x</text>`);
  }

  let y = TOP;
  for (const section of sections) {
    y += SECTION_GAP;
    out.push(`<text x="12" y="${y - 10}" font-weight="bold">${escapeXml(clip(section.title, 150))}</text>`);
    for (const row of section.rows) {
      const mid = y + ROW_H / 2;
      const mark = row.baseline ? ' (baseline)' : '';
      out.push(`<text x="12" y="${mid + 4}"><title>${escapeXml(row.label + mark)}</title>${escapeXml(clip(row.label, 68 - mark.length) + mark)}</text>`);
      if (!Number.isFinite(row.ratio) || row.ratio <= 0) {
        out.push(`<text x="${LABEL_W + 4}" y="${mid + 4}" fill="#888">${escapeXml(row.note ?? 'not measured')}</text>`);
        y += ROW_H;
        continue;
      }
      const x1 = x(1);
      const x2 = x(row.ratio);
      const targets = row.targets ?? [];
      const color = row.baseline ? COLORS.baseline : targets.length ? (targets.every((t) => t.met) ? COLORS.met : COLORS.missed) : COLORS.plain;
      const left = Math.min(x1, x2);
      const w = Math.max(Math.abs(x2 - x1), row.baseline ? 3 : 1.5);
      out.push(
        `<rect x="${(row.baseline ? x1 - 1.5 : left).toFixed(1)}" y="${(mid - BAR_H / 2).toFixed(1)}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${color}"/>`,
      );
      let right = Math.max(x1, x2);
      for (const t of targets) {
        const lx = x(t.bound);
        right = Math.max(right, lx);
        out.push(
          `<line x1="${lx.toFixed(1)}" y1="${y + 1}" x2="${lx.toFixed(1)}" y2="${y + ROW_H - 1}" stroke="${COLORS.target}" stroke-width="2" stroke-dasharray="3,2"><title>${escapeXml(t.label ?? 'target')}</title></line>`,
        );
        if (Number.isFinite(t.measured) && t.measured > 0) {
          // The interleaved run's ratio, which decides the target: a small diamond.
          const mx = x(t.measured);
          right = Math.max(right, mx + 4);
          out.push(
            `<path d="M${mx.toFixed(1)} ${mid - 5} l4 5 l-4 5 l-4 -5 z" fill="#111111"><title>${escapeXml(`${t.label ?? 'target'}: interleaved run ${fmtRatio(t.measured)}x`)}</title></path>`,
          );
        }
      }
      out.push(`<text x="${(right + 5).toFixed(1)}" y="${mid + 4}" fill="#222">${escapeXml(`${fmtRatio(row.ratio)}x · ${row.value}`)}</text>`);
      y += ROW_H;
    }
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
