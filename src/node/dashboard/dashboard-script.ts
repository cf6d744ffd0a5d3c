/**
 * The dashboard's script (plain browser JavaScript in a string; /dashboard/app.js with the drawing
 * half, dashboard-ring-script.ts). It loads /api/status and /api/dashboard once, then applies the
 * Server-Sent Events of /api/events (registration, call, state, neighbours, link-up, link-down,
 * log, summary); it reloads both only when the stream (re)opens or a summary says events were
 * missed. Everything from the network goes into the page as text nodes.
 */
export const DASHBOARD_APP_SCRIPT = String.raw`// ---- state, the live stream, the tables ----
const $ = (id) => document.getElementById(id);
const HISTORY = 150;
const MAX_PENDING = 2000;
const MAX_LOG = 200;
const EVENT_NAMES = ['registration', 'call', 'state', 'neighbours', 'link-up', 'link-down', 'log', 'summary'];

const state = {
  status: null,
  loadedAt: Date.now(),
  overlayState: '…',
  successors: [],
  predecessors: [],
  fingers: [],
  links: new Map(),
  regs: new Map(),
  regTotal: 0,
  regsComplete: true,
  calls: new Map(),
  failures: [],
  maxFailures: 20,
  history: [],
  totals: null,
  kinds: null,
  log: [],
  ready: false,
  pending: [],
  generation: 0,
};

/** An HTML element with properties/attributes and text or element children. */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-') || k === 'title') e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
  return e;
}

const time = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
const short = (hex) => (hex ? String(hex).slice(0, 12) + '…' : '–');
/** The URI of a contact, whatever its form (name-addr with header parameters, or a bare URI). */
function contactKey(c) {
  const s = String(c);
  const m = /<([^>]*)>/.exec(s);
  return (m ? m[1] : s).trim();
}
function duration(sec) {
  sec = Math.max(0, Math.round(sec));
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  return h > 0 ? h + 'h ' + String(m).padStart(2, '0') + 'm' : m > 0 ? m + 'm ' + String(s).padStart(2, '0') + 's' : s + 's';
}

/** GET a JSON path; a 401 (the API listens beyond loopback, no session) goes to the login page. */
async function getJson(path) {
  const r = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (r.status === 401) {
    location.href = '/login';
    throw new Error('not logged in');
  }
  const body = await r.json().catch(() => ({}));
  return { ok: r.ok, status: r.status, body };
}

// ---- applying what the peer says ----
function applyStatus(s) {
  state.status = s;
  state.loadedAt = Date.now();
  state.overlayState = s.state;
  state.successors = s.successors || [];
  state.predecessors = s.predecessors || [];
  state.fingers = s.fingers || [];
  state.regs = new Map();
  for (const r of s.localRegistrations || []) {
    const m = new Map();
    for (const c of r.contacts) m.set(contactKey(c.contact), { contact: c.contact, expiresAt: Date.now() + c.expiresIn * 1000 });
    state.regs.set(r.aor, m);
  }
  state.regTotal = s.localRegistrationsTotal != null ? s.localRegistrationsTotal : state.regs.size;
  state.regsComplete = state.regTotal <= state.regs.size;
}

function applySnapshot(d) {
  state.history = (d.history || []).slice(-HISTORY);
  state.totals = d.totals || null;
  state.links = new Map((d.links || []).map((l) => [l.linkId, l]));
  state.calls = new Map((d.calls || []).map((c) => [c.callId, c]));
  state.failures = d.failures || [];
  state.maxFailures = d.maxFailures || 20;
  state.log = ((d.log && d.log.lines) || []).slice(-MAX_LOG);
  state.kinds = d.storageByKind || null;
}

function applyEvent(name, data) {
  switch (name) {
    case 'registration': {
      const m = state.regs.get(data.aor) || new Map();
      const had = state.regs.has(data.aor);
      if (data.action === 'added' || data.action === 'refreshed') m.set(contactKey(data.contact), { contact: data.contact, expiresAt: Date.now() + data.expires * 1000 });
      else m.delete(contactKey(data.contact));
      if (m.size > 0) state.regs.set(data.aor, m);
      else state.regs.delete(data.aor);
      if (state.regsComplete) state.regTotal = state.regs.size;
      else if (!had && m.size > 0) state.regTotal++;
      break;
    }
    case 'call':
      if (data.state === 'ended' || data.state === 'failed') state.calls.delete(data.callId);
      else state.calls.set(data.callId, { ...(state.calls.get(data.callId) || { since: data.at }), ...data });
      if (data.state === 'failed') {
        state.failures.unshift({ at: data.at, callId: data.callId, from: data.from, to: data.to, status: data.status == null ? null : data.status, reason: data.reason || 'unknown' });
        state.failures.length = Math.min(state.failures.length, state.maxFailures);
      }
      break;
    case 'state':
      state.overlayState = data.state;
      break;
    case 'neighbours':
      state.successors = data.successors;
      state.predecessors = data.predecessors;
      break;
    case 'link-up':
      state.links.set(data.linkId, data);
      break;
    case 'link-down':
      state.links.delete(data.linkId);
      break;
    case 'log':
      state.log.push(data);
      if (state.log.length > MAX_LOG) state.log.splice(0, state.log.length - MAX_LOG);
      break;
    case 'summary':
      state.history.push(data.sample);
      if (state.history.length > HISTORY) state.history.splice(0, state.history.length - HISTORY);
      state.totals = data.totals;
      state.links = new Map(data.links.map((l) => [l.linkId, l]));
      if (data.fingers) state.fingers = data.fingers;
      if (data.storageByKind) state.kinds = data.storageByKind;
      if (state.regsComplete === false || data.totals.registrations !== state.regTotal) {
        state.regTotal = data.totals.registrations;
        state.regsComplete = state.regTotal <= state.regs.size;
      }
      // more happened than was streamed: read the state again, once
      if (data.missed > 0) resync();
      break;
  }
}

function onEvent(name, text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    return;
  }
  if (!state.ready) {
    if (state.pending.length < MAX_PENDING) state.pending.push([name, data]);
    return;
  }
  applyEvent(name, data);
  scheduleRender();
}

/** Loads the status and the dashboard snapshot; events that arrive meanwhile are applied after. */
async function resync() {
  const gen = ++state.generation;
  state.ready = false;
  try {
    const [s, d] = await Promise.all([getJson('/api/status?limit=1000'), getJson('/api/dashboard')]);
    if (gen !== state.generation) return;
    if (s.ok) applyStatus(s.body);
    if (d.ok) applySnapshot(d.body);
  } catch (e) {
    if (gen !== state.generation) return;
    setLive(false, 'the peer does not answer: ' + e.message);
  }
  state.ready = true;
  for (const [name, data] of state.pending.splice(0)) applyEvent(name, data);
  scheduleRender();
}

// ---- the live stream ----
let source = null;
function setLive(on, text) {
  const l = $('live');
  l.className = 'live ' + (on ? 'on' : 'off');
  l.textContent = text;
}
function connect() {
  if (source) source.close();
  const es = new EventSource('/api/events');
  source = es;
  es.addEventListener('open', () => {
    setLive(true, 'live');
    resync();
  });
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) {
      // refused (503: too many dashboards, or the peer stops) or gone: try again a little later
      setLive(false, 'no live stream; retrying…');
      setTimeout(() => {
        if (source === es) connect();
      }, 5000);
    } else setLive(false, 'reconnecting…');
  });
  for (const name of EVENT_NAMES) es.addEventListener(name, (ev) => onEvent(name, ev.data));
}

// ---- rendering ----
let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function tbody(table, rows, empty) {
  const body = $(table).tBodies[0];
  body.replaceChildren(...(rows.length > 0 ? rows : [el('tr', { class: 'empty' }, el('td', { colSpan: 9, class: 'small' }, empty))]));
}

/** Every node this peer knows of: neighbours, fingers and linked nodes, with their roles and link. */
function knownNodes() {
  const nodes = new Map();
  const add = (id, role) => {
    if (!id || id === (state.status && state.status.nodeId)) return;
    const n = nodes.get(id) || { id, roles: [], link: undefined };
    if (!n.roles.includes(role)) n.roles.push(role);
    nodes.set(id, n);
  };
  state.successors.forEach((id) => add(id, 'succ'));
  state.predecessors.forEach((id) => add(id, 'pred'));
  state.fingers.forEach((id) => add(id, 'finger'));
  for (const l of state.links.values()) {
    if (!l.nodeId) continue;
    add(l.nodeId, 'other');
    nodes.get(l.nodeId).link = l;
  }
  for (const n of nodes.values()) if (n.roles.length > 1) n.roles = n.roles.filter((r) => r !== 'other');
  return [...nodes.values()];
}

function render() {
  const s = state.status;
  if (s) {
    $('node-id').textContent = s.nodeId || 'none (stand-alone)';
    $('sip-addrs').textContent = (s.sip || []).join(', ');
    $('uptime').textContent = duration(s.uptimeSeconds + (Date.now() - state.loadedAt) / 1000);
  }
  const badge = $('state');
  badge.textContent = state.overlayState;
  badge.className = 'badge ' + state.overlayState;
  const nodes = knownNodes();
  drawRing($('ring'), { self: s && s.nodeId, nodes });
  $('neighbour-summary').textContent =
    'successors: ' + (state.successors.map(short).join(', ') || 'none') + ' · predecessors: ' + (state.predecessors.map(short).join(', ') || 'none');
  const roleName = { succ: 'successor', pred: 'predecessor', finger: 'finger', other: 'link' };
  const order = (n) => Math.min(...n.roles.map((r) => ROLE_ORDER.indexOf(r)));
  tbody('links', nodes.sort((a, b) => order(a) - order(b)).map((n) => {
    const ping = el('button', { type: 'button', class: 'mini', title: 'RELOAD Ping through the overlay' }, 'ping');
    ping.addEventListener('click', () => {
      $('ping-node').value = n.id;
      pingNode(n.id);
    });
    const l = n.link;
    return el('tr', { 'data-node': n.id, 'data-roles': n.roles.join(' ') },
      el('td', {}, ...n.roles.map((r) => el('span', { class: 'tag ' + r }, roleName[r]))),
      el('td', { class: 'mono' }, n.id),
      el('td', {}, l ? el('span', { class: 'tag ' + l.type }, l.type + (l.routable ? '' : ' (not routable)')) : 'no link'),
      el('td', { class: 'num' }, l && l.rttMs != null ? l.rttMs + ' ms' : '–'),
      el('td', { class: 'mono' }, l ? l.remote : ''),
      el('td', {}, ping));
  }), 'no other node known yet');

  const last = state.history[state.history.length - 1];
  const t = state.totals;
  $('c-sip-rate').textContent = last ? compact(last.sipRequestsPerSec) : '–';
  $('reg-count').textContent = String(state.regTotal);
  $('c-calls').textContent = String(state.calls.size);
  $('c-stored').textContent = t && t.storage ? compact(t.storage.resources) : s ? String(s.storedResources) : '–';
  $('c-links').textContent = String(state.links.size);
  $('c-lookup').textContent = last && last.lookupMsAvg != null ? compact(last.lookupMsAvg) : '–';
  drawGraph($('g-sip'), state.history.map((x) => x.sipRequestsPerSec), HISTORY, $('g-sip-max'));
  drawGraph($('g-lookup'), state.history.map((x) => x.lookupMsAvg), HISTORY, $('g-lookup-max'));
  drawGraph($('g-repl'), state.history.map((x) => x.replicationBytesPerSec), HISTORY, $('g-repl-max'));
  if (t) {
    $('totals').textContent = 'Since start: ' + t.sipRequests + ' SIP requests, ' + t.sipResponses + ' final responses (' + t.sipErrors + ' errors), ' +
      t.lookups + ' overlay lookups (' + t.lookupsFailed + ' failed), ' + t.replicationStores + ' replica stores (' + compact(t.replicationBytes) + ' B); calls: ' +
      t.calls.started + ' started, ' + t.calls.answered + ' answered, ' + t.calls.failed + ' failed.';
  }

  const now = Date.now();
  const aors = [...state.regs.keys()].sort();
  tbody('regs', aors.map((aor) => {
    const cs = [...state.regs.get(aor).values()];
    const left = Math.min(...cs.map((c) => c.expiresAt)) - now;
    return el('tr', { 'data-aor': aor }, el('td', { class: 'mono' }, aor), el('td', { class: 'mono' }, ...cs.flatMap((c, i) => (i === 0 ? [c.contact] : [el('br'), c.contact]))), el('td', { class: 'num' }, duration(left / 1000)));
  }), 'no phone registered here');
  $('regs-note').textContent = state.regsComplete ? '' : 'showing ' + state.regs.size + ' of ' + state.regTotal + ' AoRs';

  tbody('calls', [...state.calls.values()].map((c) => el('tr', { 'data-call': c.callId }, el('td', { class: 'mono' }, c.from), el('td', { class: 'mono' }, c.to), el('td', {}, c.state), el('td', {}, c.since ? time(c.since) : ''))), 'no call in progress');
  tbody('failures', state.failures.map((f) => el('tr', { 'data-call': f.callId }, el('td', {}, time(f.at)), el('td', { class: 'mono' }, f.from), el('td', { class: 'mono' }, f.to), el('td', { class: 'num' }, f.status == null ? '–' : f.status), el('td', {}, f.reason))), 'no failed call');

  const k = state.kinds;
  tbody('kinds', k && k.kinds ? k.kinds.map((x) => el('tr', { 'data-kind': x.kind }, el('td', {}, x.name + ' (' + x.kind + ')'), el('td', { class: 'num' }, x.values), el('td', { class: 'num' }, compact(x.bytes)))) : [], 'nothing stored here');
  $('kinds-note').textContent = t && t.storage ? t.storage.resources + ' resources, ' + t.storage.values + ' values, ' + compact(t.storage.bytes) + ' bytes in all' : '';

  const log = $('log');
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.replaceChildren(...state.log.map((l) => el('span', { class: l.level }, time(l.at) + ' ' + l.level.padEnd(5) + ' ' + l.msg + (l.fields ? ' ' + l.fields : '') + '\n')));
  if (atBottom) log.scrollTop = log.scrollHeight;
}

// ---- actions ----
function showResult(id, ok, text) {
  const r = $(id);
  r.className = 'result ' + (ok ? 'ok' : 'bad');
  r.textContent = text;
}

async function lookup(aor) {
  showResult('lookup-result', true, 'looking up ' + aor + '…');
  try {
    const r = await getJson('/api/lookup?aor=' + encodeURIComponent(aor));
    if (!r.ok) return showResult('lookup-result', false, (r.body.error || 'HTTP ' + r.status) + (r.status === 429 ? ' (try again in a moment)' : ''));
    const b = r.body;
    const lines = [b.aor + ': ' + (b.contacts.length === 0 ? 'not registered anywhere in the overlay' : b.contacts.length + ' contact(s)')];
    for (const c of b.contacts) lines.push('  ' + c.contact + '  (expires in ' + c.expiresIn + ' s, via ' + c.source + ')');
    if (b.overlay) lines.push('overlay: ' + JSON.stringify(b.overlay, null, 2));
    showResult('lookup-result', b.contacts.length > 0, lines.join('\n'));
  } catch (e) {
    showResult('lookup-result', false, String(e.message || e));
  }
}

async function pingNode(id) {
  showResult('ping-result', true, 'pinging ' + short(id) + '…');
  try {
    const r = await getJson('/api/ping?node=' + encodeURIComponent(id));
    const b = r.body;
    if (r.ok) showResult('ping-result', true, 'answered by ' + b.responder + ' in ' + b.ms + ' ms, ' + b.hops + ' hop(s)');
    else showResult('ping-result', false, 'no answer: ' + (b.error || 'HTTP ' + r.status) + (b.ms != null ? ' after ' + b.ms + ' ms' : ''));
  } catch (e) {
    showResult('ping-result', false, String(e.message || e));
  }
}

$('lookup-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  lookup($('lookup-aor').value.trim());
});
$('ping-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  pingNode($('ping-node').value.trim());
});

// the clock-driven bits (uptime, expiry countdowns) move once a second without any request
setInterval(scheduleRender, 1000);
resync();
connect();
`;
