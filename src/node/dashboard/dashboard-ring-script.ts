/**
 * The drawing half of the dashboard's script (plain browser JavaScript in a string, served with
 * dashboard-script.ts as /dashboard/app.js): the ring as SVG — each node placed by its Node-ID, links
 * from this peer coloured by type with their RTT — and the small line graphs. No chart library.
 */
export const DASHBOARD_RING_SCRIPT = String.raw`// ---- drawing: the ring and the graphs (plain SVG) ----
const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes and, optionally, text. */
function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Where a Node-ID sits on the ring: its first 32 bits as a fraction of the circle (the ring is the
 * Node-ID space, RFC 6940 §10), 0 at the top, growing clockwise like the Chord pictures.
 */
function ringAngle(hex) {
  const f = parseInt(String(hex).slice(0, 8), 16) / 4294967296;
  return f * 2 * Math.PI - Math.PI / 2;
}

const RING_RADIUS = 170;
const ROLE_ORDER = ['succ', 'pred', 'finger', 'other'];

/**
 * Draws the ring into the SVG element. view = { self: hex | null, nodes: [{ id, roles: [...], link }] },
 * link = { type: 'tls' | 'dtls' | 'relayed' | 'unknown', rttMs, routable } or undefined.
 */
function drawRing(el, view) {
  el.replaceChildren();
  el.append(svgEl('circle', { class: 'orbit', cx: 0, cy: 0, r: RING_RADIUS }));
  if (!view.self) {
    el.append(svgEl('text', { class: 'center', x: 0, y: 4 }, 'stand-alone: no overlay'));
    return;
  }
  const at = (hex, r) => {
    const a = ringAngle(hex);
    return [Math.cos(a) * r, Math.sin(a) * r];
  };
  const [sx, sy] = at(view.self, RING_RADIUS);
  const links = svgEl('g', {});
  const dots = svgEl('g', {});
  for (const n of view.nodes) {
    const [x, y] = at(n.id, RING_RADIUS);
    if (n.link) {
      const cls = 'link ' + (n.link.routable ? n.link.type : 'unknown');
      const line = svgEl('line', { class: cls, x1: sx, y1: sy, x2: x, y2: y });
      line.append(svgEl('title', {}, n.link.type + ' link to ' + n.id + (n.link.rttMs == null ? '' : ', RTT ' + n.link.rttMs + ' ms')));
      links.append(line);
      if (n.link.rttMs != null) {
        // the label sits on the chord, a little towards the centre so it leaves the dots free
        const mx = (sx + x) / 2 * 0.85;
        const my = (sy + y) / 2 * 0.85;
        links.append(svgEl('text', { class: 'rtt', x: mx.toFixed(1), y: my.toFixed(1), 'text-anchor': 'middle' }, n.link.rttMs + ' ms'));
      }
    }
    const role = ROLE_ORDER.find((r) => n.roles.includes(r)) || 'other';
    const dot = svgEl('circle', { class: 'node ' + role, cx: x.toFixed(1), cy: y.toFixed(1), r: 7, 'data-node': n.id });
    dot.append(svgEl('title', {}, n.id + ' — ' + n.roles.join(', ')));
    dots.append(dot);
    const [lx, ly] = at(n.id, RING_RADIUS + 20);
    dots.append(svgEl('text', { x: lx.toFixed(1), y: (ly + 4).toFixed(1), 'text-anchor': lx < -5 ? 'end' : lx > 5 ? 'start' : 'middle' }, n.id.slice(0, 6)));
  }
  const self = svgEl('circle', { class: 'node self', cx: sx.toFixed(1), cy: sy.toFixed(1), r: 10 });
  self.append(svgEl('title', {}, 'this peer: ' + view.self));
  dots.append(self);
  const [tx, ty] = at(view.self, RING_RADIUS - 24);
  dots.append(svgEl('text', { x: tx.toFixed(1), y: (ty + 4).toFixed(1), 'text-anchor': 'middle' }, 'this peer'));
  el.append(links, dots);
  const linked = view.nodes.filter((n) => n.link).length;
  el.append(svgEl('text', { class: 'center', x: 0, y: -4 }, view.nodes.length + (view.nodes.length === 1 ? ' node' : ' nodes') + ' known'));
  el.append(svgEl('text', { class: 'center', x: 0, y: 14 }, linked + ' linked'));
}

/** A compact number: 1234 → 1.2k. */
function compact(v) {
  if (v == null || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + 'G';
  if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(1) + 'k';
  if (a >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return v.toFixed(1);
}

/**
 * A line graph of the last samples (values: numbers or null for "nothing measured", newest last),
 * scaled to its largest value; 'capacity' samples span the width. Gaps split the line.
 */
function drawGraph(el, values, capacity, maxLabel) {
  el.replaceChildren();
  const W = 300;
  const H = 70;
  const nums = values.filter((v) => v != null && Number.isFinite(v));
  const top = Math.max(1e-9, ...nums);
  const step = W / Math.max(1, capacity - 1);
  const x = (i) => W - (values.length - 1 - i) * step;
  const y = (v) => H - 3 - (v / top) * (H - 10);
  let run = [];
  const flush = () => {
    if (run.length === 0) return;
    const pts = run.map(([i, v]) => x(i).toFixed(1) + ',' + y(v).toFixed(1));
    const area = [x(run[0][0]).toFixed(1) + ',' + H, ...pts, x(run[run.length - 1][0]).toFixed(1) + ',' + H];
    el.append(svgEl('polygon', { points: area.join(' ') }));
    el.append(svgEl('polyline', { points: pts.join(' ') }));
    // a lone sample has no line: a dot shows it
    if (run.length === 1) el.append(svgEl('circle', { cx: x(run[0][0]).toFixed(1), cy: y(run[0][1]).toFixed(1), r: 2.5, class: 'dot' }));
    run = [];
  };
  values.forEach((v, i) => {
    if (v == null || !Number.isFinite(v)) flush();
    else run.push([i, v]);
  });
  flush();
  if (maxLabel) maxLabel.textContent = nums.length === 0 ? 'no data yet' : 'max ' + compact(Math.max(...nums));
}
`;
