/**
 * Issue 17 finding on real sockets in one process: in a closed overlay a peer that is alone creates a
 * user (its P2PSIP-USER record), then a second peer joins through it and becomes responsible for that
 * user's Resource-ID. The record is handed over as the second peer is admitted (RFC 6940 §10.5), on
 * the first try, so the user's digest answers work at once: the Store of the user's proof at the new
 * responsible peer finds the record. Before the fix the handover was refused ("not responsible for
 * this Resource-ID", the joiner's Neighbor Table was empty until the Join answer) whenever the joiner
 * took the record over, and a REGISTER in the next seconds was answered 403.
 *
 * Both peers' identities are made before they start, so the user's name is picked to fall in the
 * joiner's range: every run exercises the handover (with random identities only about half did).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPeer as startApiPeer, type Peer } from '../../src/index.js';
import { startPeer, type RunningPeer } from '../../src/node/run-peer.js';
import { saveIdentity } from '../../src/platform/identity-store.js';
import { CryptoRandom } from '../../src/platform/crypto-random.js';
import { createSelfSignedIdentity } from '../../src/reload/security/index.js';
import { chordResourceId } from '../../src/reload/storage/index.js';
import { Ring } from '../../src/reload/overlay/ring.js';
import { userResourceName } from '../../src/usages/sip/auth/user-record.js';
import { loopbackPeerConfig } from './helpers/loopback-peer-config.js';
import { AuthPhone } from './helpers/auth-phone.js';
import { until } from './helpers/until.js';

const OVERLAY = 'p2psip.local';
const RUNS = 4;
const quiet = { info: () => {}, warn: () => {} };
const ring = new Ring(16);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('a user created by a lone peer, then a peer joins in front of its record', { timeout: 180_000 }, () => {
  const dirs: string[] = [];
  const stops: Array<() => Promise<void>> = [];
  const phones: AuthPhone[] = [];
  after(async () => {
    for (const ph of phones) {
      try {
        ph.close();
      } catch {
        // closed already
      }
    }
    for (const s of stops.reverse()) await s().catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A data directory holding a fresh self-signed identity (what a peer would create at its first start), and its Node-ID. */
  async function identityDir(): Promise<{ dir: string; id: bigint }> {
    const dir = mkdtempSync(join(tmpdir(), 'p2psip-handover-'));
    dirs.push(dir);
    const identity = await createSelfSignedIdentity({ overlay: OVERLAY, userName: `peer@${OVERLAY}`, now: Date.now(), random: new CryptoRandom(), digest: 'sha256', nodeIdLength: 16 });
    await saveIdentity(dir, identity);
    return { dir, id: ring.fromBytes(identity.certificate.nodeIds[0]!) };
  }

  /** A user name whose P2PSIP-USER Resource-ID lies in (a, b]: b is responsible for it in the ring {a, b}. */
  function userInRangeOf(a: bigint, b: bigint, prefix: string): { user: string; resource: Uint8Array } {
    for (let i = 0; ; i++) {
      const user = `${prefix}${i}`;
      const resource = chordResourceId(utf8(userResourceName(user, OVERLAY)), 16);
      if (ring.inInterval(a, ring.fromBytes(resource), b)) return { user, resource };
    }
  }

  async function peer(dir: string, bootstrap: Array<{ host: string; port: number }>): Promise<RunningPeer> {
    const p = await startPeer(loopbackPeerConfig(dir, bootstrap, { overlay: OVERLAY }, { open: false }), quiet);
    stops.push(() => p.stop());
    return p;
  }
  const udp = (p: RunningPeer): { host: string; port: number } => p.sipAddresses.find((x) => x.protocol === 'udp')!;

  test(`the record is at the joiner when it is joined, handed over on the first try, and the user registers there at once (${RUNS} runs)`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const da = await identityDir();
      const db = await identityDir();
      const a = await peer(da.dir, []);
      assert.equal(a.overlay!.node.ring.hex(a.overlay!.node.id), ring.hex(da.id), 'the prepared identity is used');
      const { user, resource } = userInRangeOf(da.id, db.id, `echo${run}x`);
      const added = await a.users!.add(user, 'pw-' + user);
      assert.ok(added.ok, JSON.stringify(added));
      assert.equal(a.overlay!.storage.engine.replicaNumber(resource), 0, 'a, alone, holds the record');

      const b = await peer(db.dir, [{ host: a.overlay!.listen!.host, port: a.overlay!.listen!.port }]);
      assert.equal(b.overlay!.node.state, 'joined');
      assert.ok(b.overlay!.node.isResponsible(ring.fromBytes(resource)), `run ${run}: b is responsible for ${user}`);
      // the handover Store went out as a admitted b; it is taken while b joins (or, at worst, a moment later)
      const tookMs = await until(`run ${run}: b holds the record`, 5_000, () => (b.overlay!.storage.engine.replicaNumber(resource) === 0 ? undefined : 'not yet'), { intervalMs: 10 });
      const counters = a.overlay!.storage.replicas.counters;
      assert.equal(counters.sendFailures, 0, `run ${run}: nothing refused (${counters.lastFailure ?? ''})`);
      assert.equal(counters.lastFailure, undefined);
      assert.ok(counters.handoversSent >= 1, `run ${run}: a handed the record over`);

      // the user's phone registers at b at once: its proof is stored at b, which holds the record
      const phone = await AuthPhone.open(user, udp(b), OVERLAY);
      phones.push(phone);
      assert.equal(await phone.register('pw-' + user), 'SIP/2.0 200 OK', `run ${run}: REGISTER at b (the record arrived ${tookMs} ms after b joined)`);
      const wrong = await AuthPhone.open(user, udp(a), OVERLAY);
      phones.push(wrong);
      assert.match(await wrong.register('not-the-password'), /^SIP\/2\.0 403 /, `run ${run}: a wrong password is still refused`);
      await b.stop();
      await a.stop();
    }
  });

  test(`the library API: addUser while alone, a second peer joins, the user registers through it at once (${RUNS} runs)`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const da = await identityDir();
      const db = await identityDir();
      const base = { listen: '127.0.0.1:0', sip: '127.0.0.1:0', http: false, discovery: false, outbound: 'none' } as const;
      const a: Peer = await startApiPeer({ ...base, dataDir: da.dir });
      stops.push(() => a.stop());
      assert.equal(a.auth, 'closed');
      assert.equal(a.nodeId, ring.hex(da.id));
      const { user } = userInRangeOf(da.id, db.id, `api${run}x`);
      await a.addUser(user, 'secret-' + user);
      const b: Peer = await startApiPeer({ ...base, dataDir: db.dir, bootstrap: [a.addresses.overlay!] });
      stops.push(() => b.stop());
      assert.equal(b.nodeId, ring.hex(db.id));
      // no wait: the record moved to b as b was admitted
      const reg = await b.register({ user, password: 'secret-' + user });
      assert.equal(reg.aor, `sip:${user}@${OVERLAY}`);
      const where = await a.locate(user);
      assert.equal(where.registered, true, `run ${run}`);
      await b.stop();
      await a.stop();
    }
  });
});
