/**
 * The browser phone's page and style sheet (issue 17), shipped as text in the package: no build
 * step, nothing fetched from elsewhere. The behaviour is in phone-script.ts, JsSIP comes from
 * platform/browser-jssip.ts; all three are served by phone-route.ts under /phone/.
 * No inline script or style: the page's Content-Security-Policy allows only this peer's files.
 */

export const PHONE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>p2psip browser phone</title>
<link rel="stylesheet" href="/phone/phone.css">
<link rel="icon" href="data:,">
<script src="/phone/jssip.js" defer></script>
<script src="/phone/phone.js" defer></script>
</head>
<body>
<header>
  <h1>p2psip browser phone</h1>
  <p class="sub">SIP over WebSocket (RFC 7118) to this peer; WebRTC audio. <span id="ws-url">…</span></p>
</header>
<div id="problem" class="problem" hidden></div>
<main>
<section id="account">
  <h2>Account</h2>
  <form id="register-form">
    <label>User <input id="user" name="user" autocomplete="username" placeholder="alice or sip:alice@domain" required></label>
    <label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
    <label>Display name <input id="display" name="display" placeholder="optional"></label>
    <button id="register" type="submit">Register</button>
    <button id="unregister" type="button" disabled>Unregister</button>
  </form>
  <p>Registration: <strong id="reg-state" data-state="idle">not registered</strong></p>
  <p class="hint" id="auth-hint"></p>
</section>
<section id="call">
  <h2>Call</h2>
  <form id="call-form">
    <label>To <input id="target" name="target" placeholder="bob or sip:bob@domain" required></label>
    <button id="dial" type="submit" disabled>Call</button>
    <button id="hangup" type="button" disabled>Hang up</button>
  </form>
  <div id="incoming" class="incoming" hidden>
    <span id="incoming-from"></span>
    <button id="answer" type="button">Answer</button>
    <button id="decline" type="button">Decline</button>
  </div>
  <p>Call: <strong id="call-state" data-state="idle">no call</strong> <span id="call-time"></span></p>
  <p class="media">Audio: <span id="audio-stats">–</span></p>
  <audio id="remote-audio" autoplay></audio>
</section>
<section id="messages">
  <h2>Messages</h2>
  <form id="message-form">
    <label>To <input id="msg-to" name="to" placeholder="bob or sip:bob@domain" required></label>
    <label>Text <input id="msg-text" name="text" maxlength="1000" required></label>
    <button id="msg-send" type="submit" disabled>Send</button>
  </form>
  <ol id="message-list"></ol>
</section>
<section id="log-section">
  <h2>Errors and events</h2>
  <ol id="log"></ol>
</section>
</main>
</body>
</html>
`;

export const PHONE_CSS = `
[hidden] { display: none !important; }
body { font: 15px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
header { background: #1d2330; color: #fff; padding: 0.8em 1.2em; }
header h1 { margin: 0; font-size: 1.3em; }
header .sub { margin: 0.2em 0 0; opacity: 0.8; font-size: 0.9em; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1em; padding: 1em; }
section { background: #fff; border-radius: 6px; padding: 0.6em 1em 1em; box-shadow: 0 1px 2px rgba(0,0,0,0.1); }
h2 { font-size: 1.05em; margin: 0.3em 0 0.6em; }
form { display: flex; flex-wrap: wrap; gap: 0.5em; align-items: end; }
label { display: flex; flex-direction: column; font-size: 0.85em; gap: 0.2em; }
input { font: inherit; padding: 0.3em 0.4em; min-width: 11em; }
button { font: inherit; padding: 0.35em 0.9em; cursor: pointer; }
button:disabled { cursor: default; }
.problem { background: #fdecea; color: #8a1c12; border: 1px solid #f3b7ae; margin: 1em; padding: 0.8em 1em; border-radius: 6px; }
.hint { color: #555; font-size: 0.85em; }
.incoming { background: #e8f4ff; border: 1px solid #9cc8f0; padding: 0.5em; margin-top: 0.6em; border-radius: 4px; display: flex; gap: 0.6em; align-items: center; }
[data-state="ok"] { color: #16794b; }
[data-state="busy"] { color: #8a5a00; }
[data-state="error"] { color: #b3261e; }
#message-list, #log { padding-left: 1.4em; max-height: 18em; overflow: auto; font-size: 0.9em; }
#message-list .in { color: #0b4f8a; }
#log .error { color: #b3261e; }
.media { font-family: ui-monospace, monospace; font-size: 0.85em; }
`;
