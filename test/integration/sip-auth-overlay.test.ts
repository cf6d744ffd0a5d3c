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
import { answer as digestAnswer, parseChallenge } from '../support/sip/digest-client.js';
import { loopbackPeerConfig } from './helpers/loopback-peer-config.js';
import { parseStaticRegistration } from '../../src/usages/sip/parse-static-registration.js';
import { UdpProbe } from './helpers/udp-probe.js';
import { until } from './helpers/until.js';

const OVERLAY = 'p2psip.local';
const quiet = { info: () => {}, warn: () => {} };

/** A UDP phone that answers digest challenges (REGISTER) and receives requests. */
class AuthPhone {
  private seq = 0;
  private constructor(
    readonly udp: UdpProbe,
    readonly user: string,
    readonly from: string,
    readonly peer: { host: string; port: number },
  ) {}
  static async open(user: string, peer: { host: string; port: number }, fromDomain = OVERLAY): Promise<AuthPhone> {
    return new AuthPhone(await UdpProbe.open('127.0.0.1'), user, `sip:${user}@${fromDomain}`, peer);
  }
  private request(method: string, ruri: string, callId: string, to: string, extra: string[] = []): string {
    const n = ++this.seq;
    return [
      `${method} ${ruri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.udp.port};branch=z9hG4bK${this.user}${n}x${this.udp.port};rport`,
      'Max-Forwards: 70',
      `From: <${this.from}>;tag=${this.user}t${n}`,
      `To: <${to}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${n} ${method}`,
      `Contact: <sip:${this.user}@127.0.0.1:${this.udp.port}>`,
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  }
  private async final(callId: string, cseq: number, timeoutMs = 15_000): Promise<string> {
    return this.udp.waitFor((m) => /^SIP\/2\.0 [2-6]\d\d/.test(m) && m.includes(`Call-ID: ${callId}`) && new RegExp(`CSeq: ${cseq} `).test(m), timeoutMs, `answer to ${callId}/${cseq}`);
  }
  /** REGISTER, answering one challenge with `password`; the final status line. */
  async register(password: string): Promise<string> {
    const callId = `reg-${this.user}-${this.udp.port}`;
    const to = `sip:${this.user}@${OVERLAY}`;
    this.udp.send(this.request('REGISTER', `sip:${OVERLAY}`, callId, to, ['Expires: 600']), this.peer.port, this.peer.host);
    const first = await this.final(callId, this.seq);
    if (!first.startsWith('SIP/2.0 401')) return first.split('\r\n')[0]!;
    const header = first.split('\r\n').find((l) => /^WWW-Authenticate:/i.test(l) && /algorithm=MD5/i.test(l)) ?? first.split('\r\n').find((l) => /^WWW-Authenticate:/i.test(l))!;
    const challenge = parseChallenge(header.slice(header.indexOf(':') + 1).trim());
    const auth = digestAnswer(challenge, { username: this.user, password, method: 'REGISTER', uri: `sip:${OVERLAY}`, cnonce: `cn${this.udp.port}` });
    this.udp.send(this.request('REGISTER', `sip:${OVERLAY}`, callId, to, ['Expires: 600', `Authorization: ${auth}`]), this.peer.port, this.peer.host);
    return (await this.final(callId, this.seq)).split('\r\n')[0]!;
  }
  send(method: string, ruri: string): { callId: string; cseq: number } {
    const callId = `${method}-${this.user}-${this.seq + 1}-${this.udp.port}`;
    this.udp.send(this.request(method, ruri, callId, ruri), this.peer.port, this.peer.host);
    return { callId, cseq: this.seq };
  }
  finalFor(callId: string, cseq: number, timeoutMs?: number): Promise<string> {
    return this.final(callId, cseq, timeoutMs);
  }
  /** Answers a request it received (to the top Via). */
  answer(request: string, status: number): void {
    const hdrs = request.split('\r\n');
    const pick = (name: string): string[] => hdrs.filter((h) => h.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    const vias = pick('Via');
    const out = [`SIP/2.0 ${status} OK`, ...vias, ...pick('From'), ...pick('To').map((t) => `${t};tag=${this.user}-tt`), ...pick('Call-ID'), ...pick('CSeq'), 'Content-Length: 0', '', ''];
    const top = /SIP\/2\.0\/UDP ([^;:\s]+):(\d+)/i.exec(vias[0] ?? '')!;
    this.udp.send(out.join('\r\n'), Number(top[2]), top[1]);
  }
  close(): void {
    this.udp.close();
  }
}

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
    const alice = await AuthPhone.open('alice', udp(b));
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
    const caller = await AuthPhone.open('carol', udp(c), 'elsewhere.example');
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
    const eve = await AuthPhone.open('alice', udp(c));
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
