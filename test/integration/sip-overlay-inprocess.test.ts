/**
 * The SIP usage on real sockets in one process: three peers built by startPeer (real overlay over
 * mutual TLS, real SIP UDP/TCP fronts on loopback), with the registration directory replaced by
 * one shared in-memory table — everything else (AppAttach over the overlay, forwarding, Record-Route,
 * 404/480) is the real thing. The multi-process test (sip-overlay.test.ts) covers overlay storage.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../../src/platform/system-clock.js';
import { startPeer, type RunningPeer } from '../../src/node/run-peer.js';
import { MemoryRegistrationStore } from '../support/usages/memory-registration-store.js';
import { loopbackPeerConfig } from './helpers/loopback-peer-config.js';
import { SipPhoneProbe } from './helpers/sip-phone-probe.js';
import { until } from './helpers/until.js';

const OVERLAY = 'p2psip.local';
const quiet = { info: () => {}, warn: () => {} };

describe('SIP usage in one process on real sockets', { timeout: 90_000 }, () => {
  const peers: RunningPeer[] = [];
  const dirs: string[] = [];
  const phones: SipPhoneProbe[] = [];
  const store = new MemoryRegistrationStore(new SystemClock());
  after(async () => {
    for (const ph of phones) ph.close();
    for (const p of peers) await p.stop().catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function peer(bootstrap: Array<{ host: string; port: number }>): Promise<RunningPeer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'p2psip-sipu-'));
    dirs.push(dataDir);
    const config = loopbackPeerConfig(dataDir, bootstrap, { overlay: OVERLAY });
    const p = await startPeer(config, quiet, { registrationDirectory: (o) => store.forNode(o.node.idBytes) });
    peers.push(p);
    return p;
  }

  const udp = (p: RunningPeer): { host: string; port: number } => p.sipAddresses.find((x) => x.protocol === 'udp')!;

  test('register at A, MESSAGE and INVITE from B and C; 404; 480 at D when A is gone', async () => {
    const a = await peer([]);
    const boot = a.overlay!.listen!;
    const b = await peer([{ host: boot.host, port: boot.port }]);
    const c = await peer([{ host: boot.host, port: boot.port }]);
    const d = await peer([{ host: boot.host, port: boot.port }]);
    await until('joined', 20_000, () => peers.find((p) => p.overlay!.node.state !== 'joined') === undefined ? undefined : 'joining');
    const alice = await SipPhoneProbe.open('alice', udp(a), OVERLAY);
    const bob = await SipPhoneProbe.open('bob', udp(b), OVERLAY);
    const carol = await SipPhoneProbe.open('carol', udp(c), OVERLAY);
    const dave = await SipPhoneProbe.open('dave', udp(d), OVERLAY);
    phones.push(alice, bob, carol, dave);
    assert.match(await alice.register(), /^SIP\/2\.0 200/);
    await a.sipUsage!.location.idle();
    assert.equal(store.table.size, 1);

    // The first request locates A (Fetch + AppAttach); a loaded machine may need another try.
    let m1 = '';
    let first = 0;
    for (let attempt = 0; ; attempt++) {
      const t0 = performance.now();
      const id1 = bob.send('MESSAGE', `sip:alice@${OVERLAY}`);
      const got = alice.udp.waitFor((m) => m.startsWith('MESSAGE ') && m.includes(`Call-ID: ${id1}`), 10_000, 'MESSAGE at alice').catch(() => undefined);
      const fin = bob.finalFor(id1, 12_000).catch(() => undefined);
      const m = await Promise.race([got, fin.then(() => undefined)]);
      if (m !== undefined) {
        alice.answer(m, 200);
        assert.equal((await fin)?.status, 200);
        m1 = m;
        first = performance.now() - t0;
        break;
      }
      const f = await fin;
      if (attempt >= 3) assert.fail(`MESSAGE B→A never delivered: ${f?.text.split('\r\n')[0] ?? 'no answer'}`);
      await new Promise((r) => setTimeout(r, 5_100)); // past the locator's negative cache
    }
    const attaches = b.sipUsage!.locator.appAttaches;
    // Record-Route of both peers reached the callee.
    assert.equal((m1.match(/^Record-Route:/gim) ?? []).length, 2, m1);

    // Second request from B: the located address is reused (no AppAttach).
    const t1 = performance.now();
    const id2 = bob.send('MESSAGE', `sip:alice@${OVERLAY}`);
    alice.answer(await alice.udp.waitFor((m) => m.startsWith('MESSAGE ') && m.includes(`Call-ID: ${id2}`)), 200);
    assert.equal((await bob.finalFor(id2)).status, 200);
    const second = performance.now() - t1;
    assert.equal(b.sipUsage!.locator.appAttaches, attaches);
    console.log(`MESSAGE B→A: first ${first.toFixed(1)} ms (AppAttach), cached ${second.toFixed(1)} ms`);

    const inv = carol.send('INVITE', `sip:alice@${OVERLAY}`);
    const invite = await alice.waitRequest('INVITE');
    alice.answer(invite, 180, 'Ringing');
    alice.answer(invite, 200);
    assert.equal((await carol.finalFor(inv)).status, 200);

    const nobody = bob.send('OPTIONS', `sip:nobody@${OVERLAY}`);
    assert.equal((await bob.finalFor(nobody)).status, 404);
    // issue 16: a MESSAGE to a user with no registration is kept for it instead
    assert.equal((await bob.finalFor(bob.send('MESSAGE', `sip:nobody@${OVERLAY}`))).status, 202);

    // A disappears without withdrawing: its entry stays; D (no cached address for A) gets 480.
    await a.overlay!.node.shutdown();
    await a.sip.stop();
    peers.splice(peers.indexOf(a), 1);
    const t2 = performance.now();
    // (an OPTIONS: a MESSAGE would be kept for alice, issue 16)
    const gone = dave.send('OPTIONS', `sip:alice@${OVERLAY}`);
    const r = await dave.finalFor(gone, 30_000);
    console.log(`480 after ${(performance.now() - t2).toFixed(0)} ms`);
    assert.equal(r.status, 480, r.text.split('\r\n')[0]);
  });
});
