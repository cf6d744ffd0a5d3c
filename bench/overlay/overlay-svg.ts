/**
 * A dependency-free SVG line plot of the overlay benchmark: hops, lookup success and maintenance
 * bandwidth against the number of peers (log-scaled x axis).
 */
export interface PlotSeries {
  readonly label: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface PlotPanel {
  readonly title: string;
  readonly yLabel: string;
  readonly series: readonly PlotSeries[];
  /** Fixed y range; default 0 … max·1.1. */
  readonly yRange?: readonly [number, number];
}

const W = 320;
const H = 260;
const M = { left: 56, right: 12, top: 30, bottom: 44 };

export function renderOverlaySvg(panels: readonly PlotPanel[], caption: string): string {
  const width = W * panels.length;
  const height = H + 24;
  const parts = panels.map((p, i) => panel(p, i * W));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...parts,
    `<text x="${width / 2}" y="${height - 6}" text-anchor="middle" fill="#555">${esc(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

function panel(p: PlotPanel, x0: number): string {
  const xs = p.series.flatMap((s) => s.points.map(([x]) => x)).filter((x) => x > 0);
  const ys = p.series.flatMap((s) => s.points.map(([, y]) => y));
  const xMin = Math.min(...xs, 100);
  const xMax = Math.max(...xs, xMin * 10);
  const [yMin, yMax] = p.yRange ?? [0, niceCeil(Math.max(...ys, 1e-9) * 1.1)];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number): number => x0 + M.left + ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * pw;
  const sy = (y: number): number => M.top + ph - ((y - yMin) / (yMax - yMin || 1)) * ph;
  const out: string[] = [];
  out.push(`<text x="${x0 + W / 2}" y="16" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
  out.push(`<rect x="${x0 + M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (let d = Math.ceil(Math.log10(xMin)); d <= Math.floor(Math.log10(xMax)); d++) {
    for (const m of [1, 3]) {
      const x = m * 10 ** d;
      if (x < xMin || x > xMax) continue;
      out.push(`<line x1="${sx(x).toFixed(1)}" y1="${M.top}" x2="${sx(x).toFixed(1)}" y2="${M.top + ph}" stroke="#eee"/>`);
      out.push(`<text x="${sx(x).toFixed(1)}" y="${M.top + ph + 14}" text-anchor="middle">${x.toLocaleString('en-US')}</text>`);
    }
  }
  for (let i = 0; i <= 4; i++) {
    const y = yMin + ((yMax - yMin) * i) / 4;
    out.push(`<line x1="${x0 + M.left}" y1="${sy(y).toFixed(1)}" x2="${x0 + M.left + pw}" y2="${sy(y).toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${x0 + M.left - 4}" y="${(sy(y) + 4).toFixed(1)}" text-anchor="end">${fmt(y)}</text>`);
  }
  out.push(`<text x="${x0 + M.left + pw / 2}" y="${M.top + ph + 30}" text-anchor="middle">peers (N, log scale)</text>`);
  out.push(`<text transform="translate(${x0 + 14},${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(p.yLabel)}</text>`);
  p.series.forEach((s, k) => {
    const pts = s.points.filter(([x]) => x > 0).map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
    if (pts.length > 1) out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const pt of pts) {
      const [cx, cy] = pt.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${s.color}"/>`);
    }
    const ly = M.top + 12 + k * 14;
    out.push(`<line x1="${x0 + M.left + 8}" y1="${ly - 4}" x2="${x0 + M.left + 24}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`);
    out.push(`<text x="${x0 + M.left + 28}" y="${ly}">${esc(s.label)}</text>`);
  });
  return out.join('\n');
}

function niceCeil(v: number): number {
  const e = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= v) return m * e;
  return 10 * e;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return Number(v.toPrecision(3)).toString();
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
