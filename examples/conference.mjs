// The conferencing case (issue 17): participants of a peer-to-peer conference find each other by
// their SIP AoRs through the overlay and exchange session descriptions (an SDP offer and answer, RFC
// 3264) with INVITE, no SIP server and no phone involved. Each participant is an application embedding
// p2psip: alice and bob run peers, carol joins as a client. A room roster lives in the overlay under
// an application Kind (ROOM): every participant writes its own entry, anyone reads the roster.
//
// Run: node examples/conference.mjs — exits 0 when every participant answered alice's offer, non-zero
// with the reason otherwise; within DEADLINE_MS in any case. Everything listens on 127.0.0.1.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPeer } from 'p2psip';

const DEADLINE_MS = 90_000;
const ROOM = 'room:standup';
/** The application's Kind: a dictionary at H(room name), one entry per writer's Node-ID. */
const ROOM_KIND = { id: 0xf0001001, name: 'ROOM', dataModel: 'dictionary', access: 'USER-NODE-MATCH', anyResource: true, maxCount: 16, maxSize: 256 };
const COMMON = { listen: '127.0.0.1:0', sip: '127.0.0.1:0', http: false, discovery: false, outbound: 'none', kinds: [ROOM_KIND] };

const deadline = setTimeout(() => fail(`not finished within ${DEADLINE_MS / 1000} s`), DEADLINE_MS);
deadline.unref();
const dirs = [];
const peers = [];

function fail(why) {
  console.error(`conference: FAILED: ${why}`);
  process.exit(1);
}

/** An SDP offer or answer for one audio stream (RFC 4566); the port stands in for the app's media socket. */
function sdp(name, port) {
  return ['v=0', `o=${name} ${Date.now()} 1 IN IP4 127.0.0.1`, 's=standup', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP 111`, 'a=rtpmap:111 opus/48000/2', 'a=sendrecv', ''].join('\r\n');
}

async function waitFor(what, ms, probe) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One participant's peer (or client), with its answering: it answers INVITEs with its SDP. */
async function start(name, port, extra) {
  const dataDir = mkdtempSync(join(tmpdir(), `p2psip-conf-${name}-`));
  dirs.push(dataDir);
  const peer = await startPeer({ ...COMMON, dataDir, ...extra });
  peers.push(peer);
  const offers = [];
  peer.onRequest((req) => {
    if (req.method !== 'INVITE') return undefined; // BYE, OPTIONS: the API's default answers
    offers.push({ from: req.from, sdp: req.text });
    return { status: 200, body: sdp(name, port), contentType: 'application/sdp' };
  });
  return { name, peer, offers, aor: '' };
}

/** Its user (the overlay is closed, the default: created with its password, then registered) and its roster entry. */
async function enter(p) {
  const me = await p.peer.register({ user: p.name, password: `${p.name}-secret`, createUser: true });
  p.aor = me.aor;
  await p.peer.store('ROOM', ROOM, me.aor);
  console.log(`${p.name}: ${p.peer.client ? 'client' : 'peer'} ${p.peer.nodeId.slice(0, 8)}…, registered ${me.aor}, in the roster of ${ROOM}`);
}

async function main() {
  const alice = await start('alice', 40000, {});
  const boot = [alice.peer.addresses.overlay];
  const bob = await start('bob', 40002, { bootstrap: boot });
  const carol = await start('carol', 40004, { bootstrap: boot, client: true });
  for (const p of [alice, bob, carol]) await enter(p);

  // alice reads the roster to find the others (their entries are theirs: signed, one per Node-ID)
  const roster = await waitFor('the roster', 15_000, async () => {
    const entries = await alice.peer.fetch('ROOM', ROOM);
    return entries.length >= 3 ? entries : undefined;
  });
  console.log(`alice: roster of ${ROOM}: ${roster.map((e) => e.text).join(', ')}`);

  for (const other of [bob, carol]) {
    const aor = roster.find((e) => e.text === other.aor)?.text;
    if (aor === undefined) throw new Error(`${other.aor} is not in the roster`);
    const where = await alice.peer.locate(aor);
    if (!where.registered) throw new Error(`the overlay does not know ${aor}`);
    console.log(`alice: ${aor} is at peer ${where.registrations[0]?.nodeId.slice(0, 8) ?? '?'}… (${where.registrations[0]?.sip ?? 'local'})`);
    const answer = await alice.peer.request({ method: 'INVITE', to: aor, body: sdp('alice', 40000), contentType: 'application/sdp' });
    if (answer.status !== 200 || answer.dialog === undefined) throw new Error(`INVITE ${aor}: ${answer.status} ${answer.reason}`);
    if (!new RegExp(`^o=${other.name} `, 'm').test(answer.text) || !/^m=audio \d+ /m.test(answer.text)) throw new Error(`INVITE ${aor}: the answer is not ${other.name}'s SDP:\n${answer.text}`);
    console.log(`alice: ${other.name} answered: ${answer.text.split('\r\n').find((l) => l.startsWith('m='))}`);
    const bye = await answer.dialog.bye();
    if (bye.status !== 200) throw new Error(`BYE ${aor}: ${bye.status} ${bye.reason}`);
  }
  for (const other of [bob, carol]) {
    const got = other.offers.find((o) => o.from === alice.aor);
    if (got === undefined || !/^o=alice /m.test(got.sdp)) throw new Error(`${other.name} never saw alice's offer`);
  }
  console.log('conference: OK (3 participants found by AoR; offers and answers exchanged through the overlay)');
}

let code = 0;
try {
  await main();
} catch (e) {
  console.error(`conference: FAILED: ${e instanceof Error ? e.message : String(e)}`);
  code = 1;
}
for (const p of peers.reverse()) await p.stop().catch(() => undefined);
for (const d of dirs) rmSync(d, { recursive: true, force: true });
clearTimeout(deadline);
process.exit(code);
