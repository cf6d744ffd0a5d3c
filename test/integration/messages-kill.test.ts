/**
 * Issue 16: kept messages survive `kill -9`. Six `p2psip up` processes form a CLOSED overlay; bob
 * (a user, not registered) gets 20 MESSAGEs from carol's phone at peer C, which keeps them in the
 * overlay (202 each). Then C and two of the three peers holding bob's Resource-ID (the responsible
 * peer and its first replica) are killed with SIGKILL at once. Bob registers at peer B (neither C
 * nor a holder): his phone receives all 20, in the order they were sent, none twice, and the box is
 * empty afterwards.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPeerProcess, type PeerProcess } from './helpers/peer-process.js';
import { untilWholeRing } from './helpers/ring.js';
import { AuthPhone } from './helpers/auth-phone.js';
import { receiveMessages, sendMessage } from './helpers/kept-messages.js';
import { aorResourceId } from '../../src/usages/sip/aor-resource-id.js';
import { MAX_KEPT_PER_RECIPIENT } from '../../src/usages/messages/message-box.js';

const OVERLAY = 'p2psip.local';
const PEERS = 6;

describe('kept messages survive kill -9 of the accepting peer and two of three holders', { timeout: 240_000 }, () => {
  const peers: PeerProcess[] = [];
  const phones: AuthPhone[] = [];
  after(async () => {
    for (const ph of phones) ph.close();
    await Promise.all(peers.map((p) => p.stop('SIGKILL', true).catch(() => null)));
  });

  test('20 messages, 3 of 6 peers killed at once, all delivered in order at another peer', async () => {
    const common = ['--overlay', OVERLAY, '--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--log-level', 'warn', '--media', 'direct'];
    const first = await startPeerProcess(common, 30_000, { closed: true });
    peers.push(first);
    const boot = ['--bootstrap', `${first.listen!.host}:${first.listen!.port}`];
    peers.push(...(await Promise.all(Array.from({ length: PEERS - 1 }, () => startPeerProcess([...common, ...boot], 30_000, { closed: true })))));
    await untilWholeRing(peers, 60_000);

    // who holds bob: the responsible peer (first Node-ID at or after the Resource-ID) and its two successors
    const resource = Buffer.from(aorResourceId(`sip:bob@${OVERLAY}`)).toString('hex');
    const ring = [...peers].sort((x, y) => (x.nodeId! < y.nodeId! ? -1 : 1));
    const start = Math.max(0, ring.findIndex((p) => p.nodeId! >= resource));
    const holders = [0, 1, 2].map((i) => ring[(start + i) % ring.length]!);
    const others = peers.filter((p) => !holders.includes(p));
    const [c, b] = others as [PeerProcess, PeerProcess];

    const added = await fetch(`http://${c.http}/api/users/add?user=bob`, { method: 'POST', headers: { authorization: `Bearer ${c.apiToken()}`, 'x-p2psip-password': Buffer.from('bob-pw').toString('base64') } });
    assert.equal(added.status, 200, await added.text());

    const carol = await AuthPhone.open('carol', c.sip.get('udp')!, OVERLAY, 'elsewhere.example');
    phones.push(carol);
    for (let n = 1; n <= MAX_KEPT_PER_RECIPIENT; n++) {
      assert.equal(await sendMessage(carol, `sip:bob@${OVERLAY}`, n, `message number ${n}`), 'SIP/2.0 202 Accepted - kept for delivery when the user registers');
    }

    const held = async (p: PeerProcess): Promise<string> => {
      const text = await (await fetch(`http://${p.http}/metrics`)).text();
      return /p2psip_storage_values\{kind="P2PSIP-MESSAGE"\} (\d+)/.exec(text)?.[1] ?? '0';
    };
    // each 202 came once both replicas held the message (P2PSIP-MESSAGE is allReplicasFirst)
    const counts = await Promise.all(ring.map(async (p) => `${p.nodeId!.slice(0, 6)}${holders.includes(p) ? '*' : ''}=${await held(p)}`));
    console.log(`# kept messages per peer (* holders of ${resource.slice(0, 6)}): ${counts.join(' ')}`);
    for (const h of holders) assert.equal(await held(h), String(MAX_KEPT_PER_RECIPIENT), `holder ${h.nodeId!.slice(0, 6)} holds every message`);
    // kill -9: the accepting peer, the responsible peer and its first replica, at once
    const killed = [c, holders[0]!, holders[1]!];
    await Promise.all(killed.map((p) => p.stop('SIGKILL', true)));
    const alive = peers.filter((p) => !killed.includes(p));
    const healed = Date.now();
    await untilWholeRing(alive, 90_000);
    const ringMs = Date.now() - healed;

    const bob = await AuthPhone.open('bob', b.sip.get('udp')!, OVERLAY);
    phones.push(bob);
    const got = receiveMessages(bob, MAX_KEPT_PER_RECIPIENT, 90_000);
    // the user record was written at C: its replicas answer for it; retry while the survivors settle
    let registered = '';
    for (let attempt = 0; attempt < 10 && !registered.startsWith('SIP/2.0 200'); attempt++) {
      registered = await bob.register('bob-pw');
      if (!registered.startsWith('SIP/2.0 200')) await new Promise((r) => setTimeout(r, 2_000));
    }
    assert.match(registered, /^SIP\/2\.0 200/);
    const bodies = await got.bodies.catch(async (e: unknown) => {
      const status = (await (await fetch(`http://${b.http}/api/status`)).json()) as { services?: unknown };
      throw new Error(`${String(e)}\n--- B's services: ${JSON.stringify(status.services)}\n--- B's log:\n${b.output().slice(-3000)}`);
    });
    assert.deepEqual(bodies, Array.from({ length: MAX_KEPT_PER_RECIPIENT }, (_, i) => `message number ${i + 1}`));
    assert.equal(await got.extra(3_000), undefined, 'no message delivered twice');
    console.log(`# ring of ${alive.length} whole ${ringMs} ms after the kills; ${bodies.length} messages delivered in order at B`);
  });
});
