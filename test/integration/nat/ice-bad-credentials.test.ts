/**
 * Issue 12, wrong credentials and integrity on a real peer's overlay UDP port (startPeer, `ice: true`,
 * loopback): ICE-style Binding requests
 * - for a ufrag no session has → dropped, counted `stunUnclaimed`, no answer;
 * - for a session that exists (made with `iceLinks.prepare(false)`) but with a wrong MESSAGE-INTEGRITY,
 *   another ufrag after the colon's owner, or none → 401 / 400 without MESSAGE-INTEGRITY (RFC 8445 §7.3,
 *   RFC 8489 §9.1.3), never a success; the session opens nothing;
 * - the same check with the right password is answered 200 (so the 401s were about integrity), and once
 *   the session is released it is dropped like any unknown ufrag;
 * - malformed STUN (bad FINGERPRINT, truncated, bad length) → `stunMalformed`, the peer keeps answering.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPeerConfig, type PeerConfig } from '../../../src/node/peer-config.js';
import { startPeer, type RunningPeer } from '../../../src/node/run-peer.js';
import { CryptoRandom } from '../../../src/platform/crypto-random.js';
import { StunAttr, StunMethod, attr, checkIntegrity, encodeStun, readErrorCode, shortTermKey, textAttr, u32Attr, u64Attr } from '../../../src/nat/stun/stun-message.js';
import type { StunAttribute } from '../../../src/nat/stun/stun-message.js';
import { StunProbe, turn } from '../helpers/stun-probe.js';

const quiet = { info: () => {}, warn: () => {} };
const random = new CryptoRandom();

function check(username: string, key: Uint8Array | undefined, extra: StunAttribute[] = []): Uint8Array {
  const attributes = [textAttr(StunAttr.USERNAME, username), u32Attr(StunAttr.PRIORITY, 0x6e0001ff), u64Attr(StunAttr.ICE_CONTROLLING, 12345n), ...extra];
  return encodeStun({ method: StunMethod.Binding, cls: 'request', transactionId: random.bytes(12), attributes }, { fingerprint: true, ...(key === undefined ? {} : { integrityKey: key }) });
}

describe('ICE checks with wrong credentials at a real peer', { timeout: 30_000 }, () => {
  const peers: RunningPeer[] = [];
  const probes: StunProbe[] = [];
  const dirs: string[] = [];
  after(async () => {
    for (const p of probes) await p.close();
    for (const p of peers) await p.stop().catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('unknown ufrag dropped; bad integrity 401; no integrity 400; right password 200; malformed counted', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'p2psip-icebad-'));
    dirs.push(dataDir);
    const config: PeerConfig = {
      ...defaultPeerConfig(),
      sip: { host: '127.0.0.1', port: 0 },
      http: undefined,
      reload: { listen: { host: '127.0.0.1', port: 0 }, bootstrap: [], dataDir, client: false, open: true, configSource: undefined, configCa: undefined, credentials: undefined, ice: true },
    };
    const peer = await startPeer(config, quiet);
    peers.push(peer);
    const overlay = peer.overlay!;
    const nat = overlay.nat!;
    const links = overlay.iceLinks!;
    assert.ok(links !== undefined, 'ICE links are on');
    const target = { host: '127.0.0.1', port: overlay.listen!.port };
    const probe = await StunProbe.open('127.0.0.1');
    probes.push(probe);
    const wrongKey = shortTermKey('wrong-password-wrong-password');

    // 1. a ufrag no session has: dropped (no answer), counted
    const c0 = nat.counters();
    for (let i = 0; i < 20; i++) assert.equal(await probe.ask(check('NOSUCHufrag0000:REMOTE01', wrongKey), target, 50), undefined);
    assert.equal(nat.counters().stunUnclaimed - c0.stunUnclaimed, 20);

    // 2. a session that exists (an Attach being answered), wrong integrity: 401, unprotected, never 200
    const local = links.prepare(false);
    assert.ok(local !== undefined, 'a session');
    const sessions = nat.counters().sessions;
    const received0 = probe.received;
    for (let i = 0; i < 50; i++) {
      const a = await probe.ask(check(`${local.ufrag}:REMOTE01`, wrongKey), target, 200, 3);
      assert.ok(a !== undefined, 'answered');
      assert.equal(a.cls, 'error');
      assert.equal(readErrorCode(attr(a, StunAttr.ERROR_CODE))?.code, 401);
      assert.equal(a.integrityAt, undefined, 'a 401 carries no MESSAGE-INTEGRITY (RFC 8489 §9.1.3)');
    }
    // a password one character off
    const good = check(`${local.ufrag}:REMOTE01`, shortTermKey(local.password));
    const a401 = await probe.ask(check(`${local.ufrag}:REMOTE01`, shortTermKey(`${local.password}x`)), target, 200, 3);
    assert.equal(readErrorCode(attr(a401!, StunAttr.ERROR_CODE))?.code, 401);
    // USERNAME names the session but no MESSAGE-INTEGRITY: 400
    const a400 = await probe.ask(check(`${local.ufrag}:REMOTE01`, undefined), target, 200, 3);
    assert.equal(readErrorCode(attr(a400!, StunAttr.ERROR_CODE))?.code, 400);
    assert.equal(probe.received - received0, 52, 'one answer per request, no success among them');
    assert.ok([...probe.answers.values()].every((m) => m.cls === 'error'));

    // the session opened nothing: no link, no flow, no DTLS
    assert.deepEqual(links.linkIds(), []);
    assert.equal(links.totals.started, 0);
    assert.equal(links.totals.opened, 0);
    assert.equal(nat.counters().flows, 0);
    assert.equal(nat.counters().sessions, sessions);

    // 3. the right password: 200, protected with it — the 401s were about integrity
    const ok = await probe.ask(good, target, 200, 3);
    assert.ok(ok !== undefined);
    assert.equal(ok.cls, 'success');
    assert.ok(checkIntegrity(ok, shortTermKey(local.password)));

    // released: the same check is dropped like any unknown ufrag
    links.release(local);
    assert.equal(nat.counters().sessions, sessions - 1);
    const u0 = nat.counters().stunUnclaimed;
    assert.equal(await probe.ask(check(`${local.ufrag}:REMOTE01`, shortTermKey(local.password)), target, 100), undefined);
    assert.equal(nat.counters().stunUnclaimed - u0, 1);

    // 4. malformed STUN: a bit flipped in the MAC (FINGERPRINT no longer matches), truncated, a length that lies
    const m0 = nat.counters().stunMalformed;
    const flipped = good.slice();
    flipped[good.length - 8 - 5]! ^= 0x01; // inside MESSAGE-INTEGRITY, before FINGERPRINT
    const truncated = good.subarray(0, good.length - 6);
    const lying = good.slice();
    lying[3] = (lying[3]! + 4) & 0xff;
    for (const bad of [flipped, truncated, lying]) {
      for (let i = 0; i < 100; i++) {
        probe.send(bad, target);
        if (i % 20 === 19) await turn(); // the peer is in this process: let it read (no kernel drops)
      }
    }
    const plain = encodeStun({ method: StunMethod.Binding, cls: 'request', transactionId: random.bytes(12), attributes: [] });
    const stillThere = await probe.ask(plain, target, 200, 3);
    assert.equal(stillThere?.cls, 'success', 'the port keeps answering');
    assert.equal(nat.counters().stunMalformed - m0, 300);
  });
});
