// A bot on the overlay (issue 17): it registers sip:echo@<overlay> and answers every MESSAGE (RFC 3428)
// with 200, then sends the text back reversed in a MESSAGE of its own. No phone, no SIP server.
//
//   node examples/echo-bot.mjs           the bot and a short driver in one process: alice sends three
//                                        MESSAGEs and waits for the reversed texts; exits 0 when all
//                                        came back, non-zero with the reason otherwise (bounded time)
//   node examples/echo-bot.mjs --serve   only the bot, until Ctrl-C (an open overlay on 127.0.0.1;
//                                        phones of the overlay can message sip:echo@p2psip.local)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPeer } from 'p2psip';

const DEADLINE_MS = 60_000;
const COMMON = { listen: '127.0.0.1:0', sip: '127.0.0.1:0', http: false, discovery: false, outbound: 'none' };
const dirs = [];
const peers = [];

function tempDir(name) {
  const d = mkdtempSync(join(tmpdir(), `p2psip-echo-${name}-`));
  dirs.push(d);
  return d;
}

async function cleanUp() {
  for (const p of peers.reverse()) await p.stop().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

/** Starts the bot's peer. */
async function startBotPeer(options) {
  const peer = await startPeer({ ...COMMON, ...options, dataDir: tempDir('bot') });
  peers.push(peer);
  return peer;
}

/** The bot: the user `echo` and a handler answering MESSAGEs. */
async function runBot(peer) {
  peer.onRequest((req) => {
    if (req.method !== 'MESSAGE') return undefined;
    const reversed = [...req.text].reverse().join('');
    // answered first (a 2xx to MESSAGE carries no body, RFC 3428 §7), the echo follows as a MESSAGE of ours
    setImmediate(() => {
      peer.message(req.from, reversed, { from: 'echo' }).then(
        (r) => r.status === 200 || console.error(`echo: the echo to ${req.from} got ${r.status} ${r.reason}`),
        (e) => console.error(`echo: ${e.message}`),
      );
    });
    return 200;
  });
  const reg = await peer.register({ user: 'echo', password: 'echo-secret', createUser: true });
  console.log(`echo: ${reg.aor} registered at peer ${peer.nodeId.slice(0, 8)}… (overlay ${peer.addresses.overlay.host}:${peer.addresses.overlay.port}, SIP ${peer.addresses.sip[0].host}:${peer.addresses.sip[0].port}, ${peer.auth})`);
  return peer;
}

async function drive(bot) {
  const alice = await startPeer({ ...COMMON, dataDir: tempDir('alice'), bootstrap: [bot.addresses.overlay] });
  peers.push(alice);
  // users are created once both peers are in the overlay (a user record written while a peer is alone
  // moves to the peer that becomes responsible for it when that one joins, RFC 6940 §10.5)
  await runBot(bot);
  const inbox = [];
  let wake = () => {};
  alice.onRequest((req) => {
    if (req.method !== 'MESSAGE') return undefined;
    inbox.push(req.text);
    wake();
    return 200;
  });
  await alice.register({ user: 'alice', password: 'alice-secret', createUser: true });
  const texts = ['hello, echo', 'peer-to-peer SIP', 'RFC 6940'];
  for (const t of texts) {
    const r = await alice.message('echo', t);
    if (r.status !== 200) throw new Error(`MESSAGE to echo: ${r.status} ${r.reason}`);
    console.log(`alice → echo: ${JSON.stringify(t)} (${r.status} ${r.reason})`);
  }
  const want = texts.map((t) => [...t].reverse().join(''));
  const end = Date.now() + 15_000;
  while (!want.every((w) => inbox.includes(w))) {
    const left = end - Date.now();
    if (left <= 0) throw new Error(`echoes missing after 15 s: got ${JSON.stringify(inbox)}`);
    await new Promise((r) => {
      wake = r;
      setTimeout(r, Math.min(left, 500));
    });
  }
  for (const w of want) console.log(`echo → alice: ${JSON.stringify(w)}`);
  console.log('echo-bot: OK (every MESSAGE answered and echoed back reversed)');
}

if (process.argv.includes('--serve')) {
  const bot = await runBot(await startBotPeer({ open: true }));
  console.log('echo: serving; Ctrl-C stops');
  const stop = () => cleanUp().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  void bot;
} else {
  const deadline = setTimeout(() => {
    console.error(`echo-bot: FAILED: not finished within ${DEADLINE_MS / 1000} s`);
    process.exit(1);
  }, DEADLINE_MS);
  deadline.unref();
  let code = 0;
  try {
    await drive(await startBotPeer({}));
  } catch (e) {
    console.error(`echo-bot: FAILED: ${e instanceof Error ? e.message : String(e)}`);
    code = 1;
  }
  await cleanUp();
  clearTimeout(deadline);
  process.exit(code);
}
