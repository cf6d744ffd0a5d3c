/**
 * The dashboard's page, login page and static assets, as strings compiled into the package (no
 * build step beyond tsc, nothing fetched from elsewhere at run time). The page is a shell: its
 * script (dashboard-script.ts, dashboard-ring-script.ts) loads /api/status and /api/dashboard once,
 * then applies the events of /api/events. Values from the network are put into the page as text
 * (textContent), never as HTML.
 */
import { DASHBOARD_STYLE } from './dashboard-style.js';
import { DASHBOARD_APP_SCRIPT } from './dashboard-script.js';
import { DASHBOARD_RING_SCRIPT } from './dashboard-ring-script.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The live page (`GET /`). `domain`: the overlay name shown in the title. */
export function dashboardPageHtml(domain: string): string {
  const d = esc(domain);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>p2psip — ${d}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/style.css">
<script type="module" src="/dashboard/app.js"></script>
</head>
<body>
<header>
  <h1>p2psip <span class="overlay">${d}</span></h1>
  <div class="meta">
    <span>Node-ID <code id="node-id">…</code></span>
    <span id="state" class="badge">…</span>
    <span>up <span id="uptime">…</span></span>
    <span>SIP <span id="sip-addrs">…</span></span>
  </div>
  <div id="live" class="live off" role="status">connecting…</div>
</header>
<noscript><p class="panel">This page needs JavaScript; <a href="/plain">the plain status page</a> does not.</p></noscript>
<main>
  <section class="panel ring-panel">
    <h2>The ring</h2>
    <svg id="ring" viewBox="-230 -230 460 460" role="img" aria-label="This peer, its neighbours, fingers and links placed on the ring by Node-ID"></svg>
    <div class="legend">
      <span><i class="sw self"></i>this peer</span><span><i class="sw succ"></i>successor</span><span><i class="sw pred"></i>predecessor</span><span><i class="sw finger"></i>finger</span><span><i class="sw other"></i>other link</span>
      <br><span><i class="ln tls"></i>TLS</span><span><i class="ln dtls"></i>DTLS (ICE)</span><span><i class="ln relayed"></i>relayed (TURN)</span><span><i class="ln unknown"></i>not routable / unknown</span>
    </div>
    <p id="neighbour-summary" class="small"></p>
  </section>
  <section class="panel">
    <h2>Now</h2>
    <div class="cards">
      <div class="card"><span class="v" id="c-sip-rate">–</span><span class="k">SIP requests/s</span></div>
      <div class="card"><span class="v" id="reg-count">–</span><span class="k">phones registered here</span></div>
      <div class="card"><span class="v" id="c-calls">–</span><span class="k">calls in progress</span></div>
      <div class="card"><span class="v" id="c-stored">–</span><span class="k">resources stored</span></div>
      <div class="card"><span class="v" id="c-links">–</span><span class="k">overlay links</span></div>
      <div class="card"><span class="v" id="c-lookup">–</span><span class="k">lookup ms (last 2 s)</span></div>
    </div>
    <div class="graphs">
      <figure><figcaption>SIP requests/s <span class="max" id="g-sip-max"></span></figcaption><svg id="g-sip" class="graph" viewBox="0 0 300 70" preserveAspectRatio="none"></svg></figure>
      <figure><figcaption>Lookup latency, ms <span class="max" id="g-lookup-max"></span></figcaption><svg id="g-lookup" class="graph" viewBox="0 0 300 70" preserveAspectRatio="none"></svg></figure>
      <figure><figcaption>Replication, bytes/s <span class="max" id="g-repl-max"></span></figcaption><svg id="g-repl" class="graph" viewBox="0 0 300 70" preserveAspectRatio="none"></svg></figure>
    </div>
    <p class="small" id="totals"></p>
  </section>
  <section class="panel">
    <h2>Actions</h2>
    <form id="lookup-form" class="action">
      <label for="lookup-aor">Look up an AoR</label>
      <input id="lookup-aor" name="aor" placeholder="bob or sip:bob@${d}" required maxlength="2048" autocomplete="off">
      <button type="submit">Look up</button>
    </form>
    <div id="lookup-result" class="result" aria-live="polite"></div>
    <form id="ping-form" class="action">
      <label for="ping-node">Ping a peer</label>
      <input id="ping-node" name="node" placeholder="Node-ID (hex)" required pattern="[0-9a-fA-F]+" autocomplete="off">
      <button type="submit">Ping</button>
    </form>
    <div id="ping-result" class="result" aria-live="polite"></div>
  </section>
  <section class="panel wide">
    <h2>Neighbours, fingers and links</h2>
    <table id="links"><thead><tr><th>Role</th><th>Node-ID</th><th>Link</th><th>RTT</th><th>Address</th><th></th></tr></thead><tbody></tbody></table>
  </section>
  <section class="panel">
    <h2>Phones registered here</h2>
    <table id="regs"><thead><tr><th>AoR</th><th>Contacts</th><th>Expires in</th></tr></thead><tbody></tbody></table>
    <p class="small" id="regs-note"></p>
  </section>
  <section class="panel">
    <h2>Calls in progress</h2>
    <table id="calls"><thead><tr><th>From</th><th>To</th><th>State</th><th>Since</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="panel">
    <h2>Why calls failed</h2>
    <table id="failures"><thead><tr><th>When</th><th>From</th><th>To</th><th>Status</th><th>Reason</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="panel">
    <h2>Stored resources by kind</h2>
    <table id="kinds"><thead><tr><th>Kind</th><th>Values</th><th>Bytes</th></tr></thead><tbody></tbody></table>
    <p class="small" id="kinds-note"></p>
  </section>
  <section class="panel wide">
    <h2>Log</h2>
    <pre id="log" tabindex="0"></pre>
  </section>
</main>
<footer class="small">Raw data: <a href="/api/status">/api/status</a> · <a href="/api/dashboard">/api/dashboard</a> · <a href="/metrics">/metrics</a> · <a href="/plain">plain page</a></footer>
</body>
</html>
`;
}

/** The login page (`GET /login`): trades the API token for a session cookie (api-guard.ts). */
export function loginPageHtml(domain: string): string {
  const d = esc(domain);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>p2psip — ${d} — log in</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/style.css">
<script type="module" src="/dashboard/login.js"></script>
</head>
<body>
<main class="login">
  <section class="panel">
    <h1>p2psip <span class="overlay">${d}</span></h1>
    <p>This peer's dashboard listens beyond this machine, so it asks for the API token: the file
    <code>api-token</code> in the peer's data directory (also printed when the peer starts).</p>
    <form id="login-form" class="action">
      <label for="token">API token</label>
      <input id="token" name="token" type="password" required autocomplete="off" minlength="32">
      <button type="submit">Log in</button>
    </form>
    <div id="login-result" class="result" aria-live="polite"></div>
  </section>
</main>
</body>
</html>
`;
}

const LOGIN_SCRIPT = `// p2psip dashboard login: the token goes in an Authorization header once; the answer sets an
// HttpOnly session cookie (the token itself is never stored by the page).
const form = document.getElementById('login-form');
const result = document.getElementById('login-result');
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const token = document.getElementById('token').value.trim();
  result.textContent = 'checking…';
  try {
    const r = await fetch('/api/login', { method: 'POST', headers: { authorization: 'Bearer ' + token } });
    if (r.ok) {
      location.href = '/';
      return;
    }
    const body = await r.json().catch(() => ({}));
    result.textContent = r.status === 401 ? 'wrong token' : 'refused: ' + (body.error || r.status);
  } catch (e) {
    result.textContent = 'the peer did not answer: ' + e;
  }
});
`;

/** Static files of the dashboard, by path. */
export const DASHBOARD_ASSETS: Readonly<Record<string, { body: string; contentType: string }>> = Object.freeze({
  '/dashboard/app.js': { body: `${DASHBOARD_RING_SCRIPT}\n${DASHBOARD_APP_SCRIPT}`, contentType: 'text/javascript; charset=utf-8' },
  '/dashboard/login.js': { body: LOGIN_SCRIPT, contentType: 'text/javascript; charset=utf-8' },
  '/dashboard/style.css': { body: DASHBOARD_STYLE, contentType: 'text/css; charset=utf-8' },
});
