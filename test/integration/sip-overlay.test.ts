/**
 * The SIP usage with real processes on loopback (issue 6): three `p2psip up` peers form one
 * overlay; a phone registered at peer A is reached by requests a phone at peer B sends (overlay
 * Fetch, AppAttach to A, plain SIP forwarded); an unknown AoR gets 404.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPeerProcess, type PeerProcess } from './helpers/peer-process.js';
import { SipPhoneProbe } from './helpers/sip-phone-probe.js';
import { until } from './helpers/until.js';

const OVERLAY = 'p2psip.local';

async function ringFormed(peers: PeerProcess[]): Promise<string | undefined> {
  for (const p of peers) {
    const s = (await (await fetch(`http://${p.http}/api/status`, { signal: AbortSignal.timeout(5000) })).json()) as { state: string; successors: string[] };
    if (s.state !== 'joined' || s.successors.length === 0) return `${p.nodeId}: ${s.state}, ${s.successors.length} successors`;
  }
  return undefined;
}

describe('SIP usage: real peers on loopback', { timeout: 120_000 }, () => {
  const peers: PeerProcess[] = [];
  const phones: SipPhoneProbe[] = [];
  after(async () => {
    for (const ph of phones) ph.close();
    await Promise.all(peers.map((p) => p.stop('SIGKILL', true)));
  });
  const common = ['--overlay', OVERLAY, '--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--log-level', 'warn'];

  // One certificate (peer@<overlay>) serves every phone of a peer: USER-NODE-MATCH (RFC 6940 §7.3.3)
  // refuses its Store for alice@<overlay> until the SIP-REGISTRATION policy admits proxy peers.
  test('a phone at A is reached from a phone at B (both ways); unknown AoR → 404', async () => {
    peers.push(await startPeerProcess(common));
    const boot = `${peers[0]!.listen!.host}:${peers[0]!.listen!.port}`;
    for (let i = 1; i < 3; i++) peers.push(await startPeerProcess([...common, '--bootstrap', boot]));
    await until('a ring of 3', 30_000, () => ringFormed(peers));
    const [a, b] = peers as [PeerProcess, PeerProcess];
    const alice = await SipPhoneProbe.open('alice', a.sip.get('udp')!, OVERLAY);
    const bob = await SipPhoneProbe.open('bob', b.sip.get('udp')!, OVERLAY);
    phones.push(alice, bob);
    assert.match(await alice.register(600), /^SIP\/2\.0 200/);
    assert.match(await bob.register(600), /^SIP\/2\.0 200/);

    // The store is made in the background of the REGISTER: retry until the overlay has it.
    let delivered: string | undefined;
    await until('MESSAGE from B reaches the phone at A', 15_000, async () => {
      // fail at once rather than retrying a store that can never succeed
      if (/SIP usage: publish failed/.test(a.output())) throw new Error(`the store failed at A: ${a.output().split('\n').filter((l) => l.includes('publish failed')).slice(-1)[0]}`);
      const id = bob.send('MESSAGE', `sip:alice@${OVERLAY}`);
      const got = alice.waitRequest('MESSAGE', 2000).then(
        (m) => m,
        () => undefined,
      );
      const fin = await bob.finalFor(id, 5000).catch(() => undefined);
      const m = await got;
      if (m !== undefined) {
        alice.answer(m, 200);
        delivered = m;
        const ok = await bob.finalFor(id, 5000);
        return ok.status === 200 ? undefined : `final ${ok.status}`;
      }
      return fin === undefined ? 'no answer' : `bob got ${fin.status}: ${fin.text.split('\r\n')[0]}`;
    });
    assert.ok(delivered);
    // Both peers record-routed the request.
    assert.equal((delivered.match(/^Record-Route:/gim) ?? []).length + (delivered.match(/Record-Route:[^\r]*,/gi) ?? []).length >= 1, true);

    // And the other way round, an INVITE: 100, ring, answer.
    const inviteId = alice.send('INVITE', `sip:bob@${OVERLAY}`);
    const inv = await bob.waitRequest('INVITE', 10_000);
    bob.answer(inv, 200);
    const fin = await alice.finalFor(inviteId, 10_000);
    assert.equal(fin.status, 200);

    const nobody = bob.send('OPTIONS', `sip:nobody@${OVERLAY}`);
    assert.equal((await bob.finalFor(nobody)).status, 404);
  });
});
