/** The dashboard's style sheet (served as /dashboard/style.css). Light and dark follow the system. */
export const DASHBOARD_STYLE = `:root {
  --bg: #f6f7f9; --panel: #fff; --fg: #1d2330; --muted: #667085; --line: #e3e6ea; --accent: #5b4bd6;
  --tls: #2f6fdb; --dtls: #1f9d55; --relayed: #e07b00; --unknown: #9aa1ab;
  --succ: #1f9d55; --pred: #2f6fdb; --finger: #8a94a6; --other: #c7ccd4; --bad: #c0392b;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 14px;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #12151b; --panel: #1b2029; --fg: #e6e9ef; --muted: #98a2b3; --line: #2b3240; --other: #4a5262; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.5rem 1.5rem; padding: 0.8rem 1.2rem; background: var(--panel); border-bottom: 1px solid var(--line); }
h1 { font-size: 1.25rem; margin: 0; }
h2 { font-size: 1rem; margin: 0 0 0.6rem; }
.overlay { color: var(--accent); }
.meta { display: flex; flex-wrap: wrap; gap: 0.4rem 1rem; color: var(--muted); }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.85rem; }
.badge { padding: 0.1rem 0.5rem; border-radius: 1rem; background: var(--line); color: var(--fg); }
.badge.joined { background: var(--succ); color: #fff; }
.badge.joining, .badge.leaving { background: var(--relayed); color: #fff; }
.live { margin-left: auto; font-size: 0.85rem; }
.live::before { content: "●"; margin-right: 0.3rem; }
.live.on::before { color: var(--succ); }
.live.off::before { color: var(--bad); }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 1rem; padding: 1rem 1.2rem; }
main.login { max-width: 36rem; margin: 3rem auto; display: block; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 0.9rem 1rem; min-width: 0; }
.wide { grid-column: 1 / -1; }
.ring-panel svg { width: 100%; max-height: 460px; }
.legend { color: var(--muted); font-size: 0.8rem; }
.legend span { margin-right: 0.9rem; white-space: nowrap; }
.sw { display: inline-block; width: 0.7rem; height: 0.7rem; border-radius: 50%; margin-right: 0.25rem; vertical-align: -1px; }
.sw.self { background: var(--accent); } .sw.succ { background: var(--succ); } .sw.pred { background: var(--pred); }
.sw.finger { background: var(--finger); } .sw.other { background: var(--other); }
.ln { display: inline-block; width: 1.2rem; height: 0; border-top: 3px solid; margin-right: 0.25rem; vertical-align: 3px; }
.ln.tls { border-color: var(--tls); } .ln.dtls { border-color: var(--dtls); } .ln.relayed { border-color: var(--relayed); } .ln.unknown { border-color: var(--unknown); border-top-style: dashed; }
#ring .orbit { fill: none; stroke: var(--line); stroke-width: 2; }
#ring .node { stroke: var(--panel); stroke-width: 2; }
#ring .node.self { fill: var(--accent); } #ring .node.succ { fill: var(--succ); } #ring .node.pred { fill: var(--pred); }
#ring .node.finger { fill: var(--finger); } #ring .node.other { fill: var(--other); }
#ring .link { stroke-width: 2.5; opacity: 0.85; }
#ring .link.tls { stroke: var(--tls); } #ring .link.dtls { stroke: var(--dtls); } #ring .link.relayed { stroke: var(--relayed); }
#ring .link.unknown, #ring .link.down { stroke: var(--unknown); stroke-dasharray: 5 4; }
#ring text { fill: var(--fg); font-size: 11px; font-family: ui-monospace, Menlo, Consolas, monospace; }
#ring text.rtt { fill: var(--muted); font-size: 10px; }
#ring text.center { fill: var(--muted); font-size: 12px; text-anchor: middle; font-family: system-ui, sans-serif; }
.cards { display: grid; grid-template-columns: repeat(3, 1fr); gap: 0.6rem; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 0.5rem 0.6rem; }
.card .v { display: block; font-size: 1.4rem; font-weight: 600; }
.card .k { color: var(--muted); font-size: 0.8rem; }
.graphs { display: grid; grid-template-columns: 1fr; gap: 0.5rem; margin-top: 0.8rem; }
figure { margin: 0; }
figcaption { font-size: 0.8rem; color: var(--muted); }
figcaption .max { float: right; }
.graph { width: 100%; height: 70px; background: var(--bg); border-radius: 4px; }
.graph polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.graph polygon { fill: var(--accent); opacity: 0.12; }
.graph circle.dot { fill: var(--accent); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: 500; font-size: 0.8rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.tag { display: inline-block; padding: 0 0.4rem; border-radius: 0.6rem; font-size: 0.75rem; color: #fff; background: var(--unknown); margin-right: 0.2rem; }
.tag.tls { background: var(--tls); } .tag.dtls { background: var(--dtls); } .tag.relayed { background: var(--relayed); }
.tag.succ { background: var(--succ); } .tag.pred { background: var(--pred); } .tag.finger { background: var(--finger); }
.action { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; margin: 0.4rem 0; }
.action label { min-width: 8rem; }
.action input { flex: 1; min-width: 12rem; padding: 0.35rem 0.5rem; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); }
button { padding: 0.35rem 0.8rem; border: 1px solid var(--accent); border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; }
button.mini { padding: 0.1rem 0.5rem; font-size: 0.75rem; }
.result { white-space: pre-wrap; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.8rem; color: var(--muted); min-height: 1.2rem; margin-bottom: 0.6rem; }
.result.ok { color: var(--fg); } .result.bad { color: var(--bad); }
.small { color: var(--muted); font-size: 0.8rem; }
#log { max-height: 320px; overflow: auto; margin: 0; white-space: pre-wrap; }
#log .warn { color: var(--relayed); } #log .error { color: var(--bad); }
footer { padding: 0 1.2rem 1rem; }
a { color: var(--accent); }
`;
