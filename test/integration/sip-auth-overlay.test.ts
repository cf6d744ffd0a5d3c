/**
 * Issue 15 on real sockets in one process: four CLOSED peers (real overlay over mutual TLS, real
 * storage, real SIP fronts on loopback). `user add alice` through peer C's HTTP API; a phone
 * registers at B with alice's password (401, answer, 200) and is reached from C; a wrong password
 * is 403 and stores nothing; an attacker peer D Storing a SIP-REGISTRATION for alice under its own
 * Node-ID with the plain storage client API is refused (Error_Forbidden) by the storing peers, and
 * requests for alice still reach her phone only.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPeer, type RunningPeer } from '../../src/node/run-peer.js';
import { ReloadErrorCode, encodeSipRegistration } from '../../src/reload/codec/index.js';
import { P2PSIP_USER_KIND_ID } from '../../src/reload/config/index.js';
import { loopbackPeerConfig } from './helpers/loopback-peer-config.js';
import { parseStaticRegistration } from '../../src/usages/sip/parse-static-registration.js';
import { AuthPhone } from './helpers/auth-phone.js';
import { until } from './helpers/until.js';

const OVERLAY = 'p2psip.local';
const quiet = { info: () => {}, warn: () => {} };

describe('closed overlay: users, digest proofs at the storing peers, grants', { timeout: 120_000 }, () => {
  const peers: RunningPeer[] = [];
  const dirs: string[] = [];
  const phones: AuthPhone[] = [];
  after(async () => {
    for (const ph of phones) ph.close();
    for (const p of peers) await p.stop().catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function peer(bootstrap: Array<{ host: string; port: number }>, http = false, statics: string[] = []): Promise<RunningPeer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'p2psip-auth-'));
    dirs.push(dataDir);
    const staticRegistrations = statics.map((t) => {
      const r = parseStaticRegistration(t, OVERLAY);
      if (!r.ok) throw new Error(r.error);
      return r.value;
    });
    const config = loopbackPeerConfig(dataDir, bootstrap, { overlay: OVERLAY, ...(http ? { http: { host: '127.0.0.1', port: 0 } } : {}) }, { open: false, staticRegistrations });
    const p = await startPeer(config, quiet);
    peers.push(p);
    return p;
  }
  const udp = (p: RunningPeer): { host: string; port: number } => p.sipAddresses.find((x) => x.protocol === 'udp')!;
  const api = async (p: RunningPeer, method: 'GET' | 'POST', path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`http://${p.http!.host}:${p.http!.port}${path}`, { method, headers: { ...headers, ...(method === 'POST' ? { authorization: `Bearer ${p.apiToken!.token}` } : {}) } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const b64 = (s: string): string => Buffer.from(s).toString('base64');

  test('user add, register with the password, reach from another peer; wrong password and an attacker peer refused', async () => {
    const a = await peer([]);
    const boot = [{ host: a.overlay!.listen!.host, port: a.overlay!.listen!.port }];
    const b = await peer(boot);
    const c = await peer(boot, true, [`sip:vm@${OVERLAY}=sip:vm@127.0.0.1:5999`]);
    const d = await peer(boot);
    await until('joined', 30_000, () => (peers.every((p) => p.overlay!.node.state === 'joined') ? undefined : 'joining'));

    const status = await api(c, 'GET', '/api/status');
    assert.equal((status.body['auth'] as { mode: string }).mode, 'closed');

    // the user directory, through C's API (first claim wins)
    const added = await api(c, 'POST', '/api/users/add?user=alice', { 'x-p2psip-password': b64('s3cret') });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const again = await api(c, 'POST', '/api/users/add?user=alice', { 'x-p2psip-password': b64('mine') });
    assert.equal(again.status, 409, JSON.stringify(again.body));
    const listed = await api(c, 'GET', '/api/users');
    assert.deepEqual((listed.body['users'] as Array<{ user: string }>).map((u) => u.user), ['alice']);
    // the record is private: nobody can Fetch it
    const peek = await d.overlay!.storage.fetch(P2PSIP_USER_KIND_ID, { resourceName: `alice@${OVERLAY}` });
    assert.equal(peek.ok, false);
    assert.equal(!peek.ok && peek.errorCode, ReloadErrorCode.Forbidden);

    // alice's phone at B: challenged, answers with the password, registered in the overlay
    const alice = await AuthPhone.open('alice', udp(b), OVERLAY);
    phones.push(alice);
    assert.match(await alice.register('s3cret'), /^SIP\/2\.0 200/);
    await b.sipUsage!.location.idle();
    const held = async () => {
      const r = await c.overlay!.storage.fetch(1, { resourceName: `alice@${OVERLAY}` });
      assert.ok(r.ok, r.ok ? '' : r.info);
      return r.ok ? r.values.filter((v) => v.data.value.value.exists).map((v) => (v.data.value.model === 'dictionary' ? Buffer.from(v.data.value.key).toString('hex') : '')) : [];
    };
    const bId = Buffer.from(b.overlay!.node.idBytes).toString('hex');
    assert.deepEqual(await held(), [bId]);

    // a caller at C (a foreign domain: not challenged) reaches alice
    const caller = await AuthPhone.open('carol', udp(c), OVERLAY, 'elsewhere.example');
    phones.push(caller);
    const reach = async (label: string): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        const m = caller.send('MESSAGE', `sip:alice@${OVERLAY}`);
        const got = alice.udp.waitFor((x) => x.startsWith('MESSAGE ') && x.includes(`Call-ID: ${m.callId}`), 10_000, `${label} at alice`).catch(() => undefined);
        const req = await got;
        if (req !== undefined) {
          alice.answer(req, 200);
          assert.match(await caller.finalFor(m.callId, m.cseq), /^SIP\/2\.0 200/);
          return;
        }
        if (attempt >= 2) assert.fail(`${label}: MESSAGE never reached alice`);
        await new Promise((r) => setTimeout(r, 5_100)); // past the locator's negative cache
      }
    };
    await reach('first MESSAGE');

    // a wrong password at C: 403, nothing stored for C
    const eve = await AuthPhone.open('alice', udp(c), OVERLAY);
    phones.push(eve);
    assert.match(await eve.register('guess'), /^SIP\/2\.0 403/);
    await c.sipUsage!.location.idle();
    assert.deepEqual(await held(), [bId]);

    // the attacker peer D: a registration for alice under its own Node-ID, plain storage client API
    const dId = d.overlay!.node.idBytes;
    const value = encodeSipRegistration({ type: 'route', contactPrefs: new Uint8Array(0), destinationList: [{ type: 'node', nodeId: dId }] }, { nodeIdLength: 16 });
    const r = await d.overlay!.storage.store(1, { resourceName: `alice@${OVERLAY}` }, [{ model: 'dictionary', key: dId, value: { exists: true, value } }], { lifetime: 600 });
    assert.equal(r.ok, false, 'the storing peers refuse it');
    assert.equal(!r.ok && r.errorCode, ReloadErrorCode.Forbidden);
    assert.match(!r.ok ? r.info : '', /no write grant/);
    assert.deepEqual(await held(), [bId], 'only B answers for alice');
    // and requests for alice still reach her phone, never D: a MESSAGE and a call
    await reach('MESSAGE after the attack');
    const call = caller.send('INVITE', `sip:alice@${OVERLAY}`);
    const invite = await alice.udp.waitFor((x) => x.startsWith('INVITE ') && x.includes(`Call-ID: ${call.callId}`), 15_000, 'INVITE at alice');
    alice.answer(invite, 486);
    assert.match(await caller.finalFor(call.callId, call.cseq), /^SIP\/2\.0 486/);

    // a static registration in a closed overlay: refused until its user exists, then stored by the
    // record's owner (C, where `user add vm` ran) without a password
    assert.notEqual(c.sipUsage!.statics.status()[0]!.state, 'stored');
    assert.equal((await api(c, 'POST', '/api/users/add?user=vm', { 'x-p2psip-password': b64('vm-pw') })).status, 200);
    await until('static stored', 40_000, () => (c.sipUsage!.statics.status()[0]!.state === 'stored' ? undefined : JSON.stringify(c.sipUsage!.statics.status()[0])));
  });
});
