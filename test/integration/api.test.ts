/**
 * The library API in one process (issue 17), as an application uses it, from src/index.ts: peers and a
 * client started with configuration objects on loopback, users created and registered in a closed
 * overlay, AoRs located, MESSAGE and INVITE (SDP offer/answer, BYE) between the application's users
 * through the overlay, application Kinds stored and fetched under their access policies, the events,
 * and the errors (bad options, wrong password, forbidden writes, a stopped peer).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_KEY_BYTES, MAX_LIFETIME_S, MAX_REQUEST_TIMEOUT_MS, MAX_RESOURCE_NAME_BYTES, P2psipApiError, startPeer, type IncomingRequest, type KindSpec, type Peer, type PeerOptions, type RegistrationChange } from '../../src/index.js';
import { ReloadErrorCode } from '../../src/reload/codec/index.js';
import { until } from './helpers/until.js';

const ROOM: KindSpec = { id: 0xf0001001, name: 'ROOM', dataModel: 'dictionary', access: 'USER-NODE-MATCH', anyResource: true, maxCount: 8, maxSize: 64 };
const CARD: KindSpec = { id: 0xf0001002, name: 'CARD', dataModel: 'single', access: 'NODE-MATCH', maxSize: 128 };
const BASE: PeerOptions = { listen: '127.0.0.1:0', sip: '127.0.0.1:0', http: false, discovery: false, outbound: 'none', kinds: [ROOM, CARD] };
const sdp = (name: string, port: number): string => ['v=0', `o=${name} 1 1 IN IP4 127.0.0.1`, 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP 0`, 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
const isApiError = (code: string, extra: (e: P2psipApiError) => boolean = () => true) => (e: unknown) => e instanceof P2psipApiError && e.code === code && extra(e);

describe('library API in one process', { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  const peers: Peer[] = [];
  after(async () => {
    for (const p of peers.reverse()) await p.stop().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const dataDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'p2psip-api-'));
    dirs.push(d);
    return d;
  };
  async function start(o: PeerOptions): Promise<Peer> {
    const p = await startPeer({ ...BASE, dataDir: dataDir(), ...o });
    peers.push(p);
    return p;
  }

  test('closed overlay: two peers and a client; users, locate, MESSAGE, INVITE with SDP, Kinds, events, stop', async () => {
    const a = await start({});
    assert.equal(a.state(), 'joined');
    assert.equal(a.auth, 'closed');
    assert.match(a.nodeId, /^[0-9a-f]{32}$/);
    const neighbours: string[][] = [];
    const offNeighbours = a.on('neighbours', (n) => neighbours.push(n.successors));
    const boot = [a.addresses.overlay!];
    const b = await start({ bootstrap: boot });
    const c = await start({ bootstrap: boot, client: true });
    assert.equal(c.client, true);
    assert.equal(c.addresses.overlay, undefined);
    await until('a sees b as a neighbour', 10_000, () => (neighbours.some((s) => s.includes(b.nodeId)) ? undefined : JSON.stringify(neighbours)));
    offNeighbours();
    assert.ok(a.status().successors.includes(b.nodeId));

    const registrations: RegistrationChange[] = [];
    a.on('registration', (r) => registrations.push(r));
    const alice = await a.register({ user: 'alice', password: 'alice-pw', createUser: true });
    assert.equal(alice.aor, 'sip:alice@p2psip.local');
    assert.ok(alice.expires > 0);
    await b.register({ user: 'bob', password: 'bob-pw', createUser: true });
    await c.register({ user: 'carol', password: 'carol-pw', createUser: true });
    await until('the registration event at a', 5_000, () => (registrations.some((r) => r.aor === alice.aor && r.action === 'added') ? undefined : JSON.stringify(registrations)));
    // a user exists already: its password is proven by the REGISTER, a wrong one is refused
    await assert.rejects(b.register({ user: 'alice', password: 'wrong', createUser: true }), isApiError('sip', (e) => e.status === 403));
    await assert.rejects(a.addUser('alice', 'again'), isApiError('user'));

    const where = await a.locate('bob');
    assert.equal(where.aor, 'sip:bob@p2psip.local');
    assert.equal(where.registered, true);
    assert.deepEqual(where.registrations.map((r) => r.nodeId), [b.nodeId]);
    assert.match(where.resourceId ?? '', /^[0-9a-f]{32}$/);
    assert.equal((await a.locate('sip:nobody@p2psip.local')).registered, false);
    await assert.rejects(a.locate('sip:@p2psip.local'), isApiError('bad-argument'));

    const atBob: IncomingRequest[] = [];
    const noticed: string[] = [];
    b.on('request', (r) => noticed.push(`${r.method} ${r.from}`));
    b.onRequest((r) => {
      atBob.push(r);
      return r.method === 'MESSAGE' ? { status: 200 } : undefined;
    });
    const m = await a.message('bob', 'hello bob');
    assert.equal(m.status, 200, `${m.status} ${m.reason}`);
    assert.equal(atBob[0]?.text, 'hello bob');
    assert.equal(atBob[0]?.from, 'sip:alice@p2psip.local');
    assert.equal(atBob[0]?.user, 'bob');
    assert.deepEqual(noticed, ['MESSAGE sip:alice@p2psip.local']);
    // issue 16: a MESSAGE to a user who is not registered is kept for it (202; the user directory does
    // not say whether a name is a user — like Kamailio's msilo, it is kept and expires)
    const unknown = await a.message('nobody', 'x');
    assert.equal(unknown.status, 202);

    // the client calls alice: offer in the INVITE, answer in the 2xx, ACK and BYE by the API
    let offer = '';
    a.onRequest((r) => {
      if (r.method !== 'INVITE') return undefined;
      offer = r.text;
      return { status: 200, body: sdp('alice', 30000), contentType: 'application/sdp' };
    });
    const call = await c.request({ method: 'INVITE', to: 'alice', body: sdp('carol', 30002), contentType: 'application/sdp' });
    assert.equal(call.status, 200, `${call.status} ${call.reason}`);
    assert.match(offer, /^o=carol /m);
    assert.match(call.text, /^o=alice /m);
    assert.ok(call.dialog !== undefined);
    assert.equal(call.dialog.remote, 'sip:alice@p2psip.local');
    assert.match(call.dialog.remoteSdp, /^m=audio \d+ RTP\/AVP 0/m);
    const bye = await call.dialog.bye();
    assert.equal(bye.status, 200);
    await call.dialog.ended;

    // application Kinds: a roster every peer writes its own entry of; a card only at one's own Node-ID
    for (const [p, who] of [[a, 'alice'], [b, 'bob'], [c, 'carol']] as const) await p.store('ROOM', 'room:1', who);
    const roster = await b.fetch('ROOM', 'room:1');
    assert.deepEqual(roster.map((v) => v.text).sort(), ['alice', 'bob', 'carol']);
    assert.deepEqual(roster.map((v) => v.key).sort(), [a.nodeId, b.nodeId, c.nodeId].sort(), 'each entry is keyed by its writer');
    assert.ok(roster.every((v) => v.signer.nodeId === v.key));
    await b.remove('ROOM', 'room:1');
    assert.deepEqual((await c.fetch('ROOM', 'room:1')).map((v) => v.text).sort(), ['alice', 'carol']);
    assert.deepEqual((await c.fetch('ROOM', 'room:1', { key: a.nodeId })).map((v) => v.text), ['alice']);
    // USER-NODE-MATCH: another writer's key is refused by the storing peer
    await assert.rejects(a.store('ROOM', 'room:1', 'not mine', { key: b.nodeId }), isApiError('storage', (e) => e.reloadError === ReloadErrorCode.Forbidden));
    await a.store('CARD', { node: 'self' }, 'alice card');
    assert.deepEqual((await b.fetch('CARD', { node: a.nodeId })).map((v) => v.text), ['alice card']);
    await assert.rejects(a.store('CARD', { node: b.nodeId }, 'forged'), isApiError('storage', (e) => e.reloadError === ReloadErrorCode.Forbidden));
    await assert.rejects(a.store('CARD', { node: 'self' }, 'x'.repeat(129)), isApiError('limit'));
    await assert.rejects(a.store('SIP-REGISTRATION', 'alice@p2psip.local', 'x'), isApiError('bad-argument'));
    await assert.rejects(a.fetch(1, 'alice@p2psip.local'), isApiError('bad-argument'));
    await assert.rejects(a.store('ROOM', '', 'x'), isApiError('bad-argument'));
    await assert.rejects(a.store('ROOM', 'r'.repeat(MAX_RESOURCE_NAME_BYTES + 1), 'x'), isApiError('bad-argument'));
    await assert.rejects(a.store('ROOM', 'room:1', 'x', { key: 'ab'.repeat(MAX_KEY_BYTES + 1) }), isApiError('bad-argument'));
    await assert.rejects(a.store('ROOM', 'room:1', 'x', { lifetime: MAX_LIFETIME_S + 1 }), isApiError('bad-argument'));
    await assert.rejects(a.store('CARD', { node: 'zz' }, 'x'), isApiError('bad-argument'));
    await assert.rejects(a.request({ method: 'MESSAGE', to: 'bob', timeoutMs: MAX_REQUEST_TIMEOUT_MS + 1 }), isApiError('bad-argument'));

    // unregister: the AoR leaves the overlay
    await b.unregister('bob');
    await until('bob withdrawn', 10_000, async () => ((await a.locate('bob')).registered ? 'still registered' : undefined));

    await c.stop();
    await assert.rejects(c.message('alice', 'x'), isApiError('closed'));
    await c.stop(); // idempotent
  });

  test('open overlay: no passwords; a request without a registered user goes out anonymous', async () => {
    const a = await start({ open: true });
    const b = await start({ open: true, bootstrap: [a.addresses.overlay!] });
    assert.equal(a.auth, 'open');
    await assert.rejects(a.addUser('x', 'y'), isApiError('user'));
    const got: IncomingRequest[] = [];
    b.onRequest((r) => {
      got.push(r);
      return 200;
    });
    await b.register({ user: 'bob' });
    const r = await a.request({ method: 'MESSAGE', to: 'bob@p2psip.local', body: 'anonymous hello', headers: [['X-App', 'test']] });
    assert.equal(r.status, 200);
    assert.equal(got[0]?.from, 'sip:anonymous@anonymous.invalid');
    assert.equal(got[0]?.header('x-app'), 'test');
  });

  test('bad options are config errors, before anything listens', async () => {
    const bad = async (o: PeerOptions, why: RegExp): Promise<void> => {
      await assert.rejects(startPeer({ ...BASE, dataDir: dataDir(), ...o }), (e: unknown) => e instanceof P2psipApiError && e.code === 'config' && why.test(e.message));
    };
    await bad({ overlay: 'bad name!' }, /overlay/);
    await bad({ sip: 'nowhere' }, /sip/);
    await bad({ open: true, config: '/nonexistent.xml' }, /open applies/);
    await bad({ kinds: [{ ...CARD, id: 0xf0000101 }] }, /0xf0001000/);
    await bad({ kinds: [CARD, { ...CARD, name: 'CARD2' }] }, /twice/);
    await bad({ kinds: [{ ...ROOM, dataModel: 'array' }] }, /dictionary/);
    await bad({ kinds: [{ ...CARD, maxSize: 1_000_000 }] }, /max-message-size/);
    await bad({ kinds: [{ ...CARD, name: 'SIP-REGISTRATION' }] }, /already the overlay's/);
  });
});
