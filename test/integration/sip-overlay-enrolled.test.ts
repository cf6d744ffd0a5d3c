/**
 * The SIP usage end to end with real processes in an enrolled overlay (issue 6): an enrollment
 * server issues each peer a certificate for one user (`alice@<overlay>`, …), so the peer may store
 * that user's SIP-REGISTRATION under USER-NODE-MATCH (RFC 6940 §7.3.3, RFC 7904). Three
 * `p2psip up` peers; a phone registered at A is reached by requests from a phone at B (overlay
 * Store/Fetch, AppAttach, plain SIP forwarded); the other way round an INVITE; unknown AoR → 404;
 * an un-REGISTER withdraws the registration (→ 404 again).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EnrollServerProcess } from './helpers/enroll-server-process.js';
import { startEnrollment } from './helpers/enrolled-overlay.js';
import { startPeerProcess, type PeerProcess } from './helpers/peer-process.js';
import { SipPhoneProbe } from './helpers/sip-phone-probe.js';
import { until } from './helpers/until.js';

const OVERLAY = 'sipu.test';
const USERS = ['alice', 'bob', 'carol'];

describe('SIP usage: enrolled overlay, real processes', { timeout: 240_000 }, () => {
  let dir: string;
  let server: EnrollServerProcess | undefined;
  const peers: PeerProcess[] = [];
  const phones: SipPhoneProbe[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'p2psip-sipu-'));
    const e = await startEnrollment(dir, OVERLAY, USERS);
    server = e.server;
    for (const [i, u] of USERS.entries()) peers.push(await startPeerProcess([...e.peerArgs(u), '--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--log-level', 'warn', ...e.placeArgs(i)], 60_000));
  });

  after(async () => {
    for (const ph of phones) ph.close();
    for (const p of peers) await p.stop('SIGKILL', false);
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('A ↔ B through the overlay: MESSAGE, INVITE, 404 for an unknown AoR, un-REGISTER withdraws', async () => {
    const [a, b] = peers as [PeerProcess, PeerProcess];
    const alice = await SipPhoneProbe.open('alice', a.sip.get('udp')!, OVERLAY);
    const bob = await SipPhoneProbe.open('bob', b.sip.get('udp')!, OVERLAY);
    phones.push(alice, bob);
    assert.match(await alice.register(600), /^SIP\/2\.0 200/);
    assert.match(await bob.register(600), /^SIP\/2\.0 200/);

    const t0 = Date.now();
    let delivered: string | undefined;
    await until('MESSAGE from B reaches the phone at A', 60_000, async () => {
      const id = bob.send('MESSAGE', `sip:alice@${OVERLAY}`);
      const got = alice.waitRequest('MESSAGE', 8000).catch(() => undefined);
      const fin = bob.finalFor(id, 8000).catch(() => undefined);
      const m = await Promise.race([got, fin.then(() => undefined)]);
      if (m === undefined) {
        const f = await fin;
        const failed = a.output().split('\n').filter((l) => l.includes('publish failed')).slice(-1)[0];
        return `${f === undefined ? 'no answer' : `B answered ${f.text.split('\r\n')[0]}`}${failed === undefined ? '' : `; A: ${failed}`}`;
      }
      delivered = m;
      alice.answer(m, 200);
      const f = await fin;
      return f?.status === 200 ? undefined : `final ${f?.status}`;
    });
    console.log(`first cross-peer MESSAGE delivered ${Date.now() - t0} ms after the REGISTER`);
    assert.equal((delivered!.match(/^Record-Route:/gim) ?? []).length, 2, delivered);

    const t1 = Date.now();
    const inviteId = alice.send('INVITE', `sip:bob@${OVERLAY}`);
    // The REGISTER was answered once its Store was done: the INVITE must ring at once. If it does
    // not, say what A answered and what B logged about its Store.
    const early = alice.finalFor(inviteId, 15_000).then(
      (f) => f,
      () => undefined,
    );
    let rang = false;
    const inv = await Promise.race([
      bob.waitRequest('INVITE', 15_000).then((m) => ((rang = true), m)),
      early.then((f) => {
        if (rang) return new Promise<never>(() => {});
        const failed = b.output().split('\n').filter((l) => l.includes('publish failed')).slice(-2).join(' | ');
        throw new Error(`INVITE answered ${f === undefined ? 'nothing' : f.text.split('\r\n')[0]} before reaching bob; B: ${failed || 'no publish failure logged'}`);
      }),
    ]);
    bob.answer(inv, 180, 'Ringing');
    bob.answer(inv, 200);
    assert.equal((await alice.finalFor(inviteId, 15_000)).status, 200);
    console.log(`INVITE A→B answered in ${Date.now() - t1} ms (first call: Fetch + AppAttach)`);

    const nobody = bob.send('OPTIONS', `sip:nobody@${OVERLAY}`);
    assert.equal((await bob.finalFor(nobody, 15_000)).status, 404);
    // issue 16: a MESSAGE to a name the overlay holds no certificate of is no user: 404 as before
    const toNobody = bob.send('MESSAGE', `sip:nobody@${OVERLAY}`);
    assert.equal((await bob.finalFor(toNobody, 15_000)).status, 404);
    // a MESSAGE to an enrolled user with no registration is kept, sealed to carol's certificate
    const kept = bob.send('MESSAGE', `sip:carol@${OVERLAY}`);
    const keptAnswer = await bob.finalFor(kept, 15_000);
    assert.equal(keptAnswer.status, 202, keptAnswer.text);
    const stored = await fetch(`http://${a.http!}/api/storage/fetch?kind=${0xf0000104}&name=carol@${OVERLAY}`, { headers: { authorization: `Bearer ${a.apiToken()}` } });
    const body = (await stored.json()) as { values: Array<{ exists: boolean; hex: string; value: string }> };
    const live = body.values.filter((v) => v.exists);
    assert.equal(live.length, 1, JSON.stringify(body));
    assert.ok(live[0]!.hex.startsWith(Buffer.from('P2SB').toString('hex')), 'a sealed envelope');
    assert.doesNotMatch(live[0]!.value, /bob@|MESSAGE|hello/i, 'neither sender nor body readable by another peer');
    // carol registers at her own peer (C): the message is opened there and delivered
    const carol = await SipPhoneProbe.open('carol', peers[2]!.sip.get('udp')!, OVERLAY);
    phones.push(carol);
    const got = carol.waitRequest('MESSAGE', 20_000);
    assert.match(await carol.register(600), /^SIP\/2\.0 200/);
    const m = await got;
    carol.answer(m, 200);
    assert.match(m, /^From:.*sip:bob@sipu\.test/im);

    // un-REGISTER: the registration leaves the overlay, B's requests get 404
    assert.match(await alice.register(0), /^SIP\/2\.0 200/);
    await until('404 after the un-REGISTER', 30_000, async () => {
      const id = bob.send('OPTIONS', `sip:alice@${OVERLAY}`);
      const f = await bob.finalFor(id, 8000).catch(() => undefined);
      return f?.status === 404 ? undefined : `got ${f?.status}`;
    });
  });
});
