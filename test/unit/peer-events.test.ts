/**
 * The SIP front publishes its events (issue 17, peer-events.ts): a real SipPeer (registrar + proxy)
 * on an in-memory network with a manual clock, phones scripted as text; what arrives on the hub is
 * checked field by field, and the debug log lines of a call carry its Call-ID.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventHub } from '../../src/lib/event-hub.js';
import { ManualClock } from '../../src/lib/manual-clock.js';
import { SeededRandom } from '../../src/lib/random.js';
import { NumericOnlyResolver } from '../../src/sip/core/target-resolver.js';
import { parseMessage } from '../../src/sip/message/index.js';
import type { SipMessage, SipRequest } from '../../src/sip/message/sip-message.js';
import type { TransportAddress } from '../../src/sip/transport/sip-transport.js';
import { SipPeer } from '../../src/node/sip-peer.js';
import type { PeerEventMap } from '../../src/node/peer-events.js';
import { CHALLENGE_WAIT_MS, MAX_SETUP_MS, MAX_TRACKED_CALLS, MAX_TRACKED_REQUESTS, SipEventTap } from '../../src/node/sip-event-tap.js';
import { MemoryNetwork, type MemoryDriver } from '../support/sip/memory-driver.js';
import { settle } from '../support/settle.js';

const PEER: TransportAddress = { protocol: 'udp', host: '198.18.0.1', port: 5060 };
const DOMAIN = 'p2psip.local';

type Seen = { [K in keyof PeerEventMap]: { name: K; payload: PeerEventMap[K] } }[keyof PeerEventMap];

/** A hub that records what is published and counts emits (to show nothing is built without listeners). */
class RecordingHub extends EventHub<PeerEventMap> {
  emits = 0;
  override emit<K extends keyof PeerEventMap & string>(name: K, payload: PeerEventMap[K]): void {
    this.emits++;
    super.emit(name, payload);
  }
}

interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

class Phone {
  readonly inbox: SipMessage[] = [];
  private seq = 0;
  constructor(
    readonly name: string,
    readonly driver: MemoryDriver,
    readonly addr: TransportAddress,
  ) {}
  get contact(): string {
    return `sip:${this.name}@${this.addr.host}:${this.addr.port}`;
  }
  send(lines: string[]): void {
    this.driver.sendDatagram(this.addr, PEER, Buffer.from([...lines, 'Content-Length: 0', '', ''].join('\r\n'), 'latin1'));
  }
  request(method: string, ruri: string, callId: string, opts: { toTag?: string; extra?: string[]; cseq?: number } = {}): void {
    const n = opts.cseq ?? ++this.seq;
    this.send([
      `${method} ${ruri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${this.addr.host}:${this.addr.port};branch=z9hG4bK${this.name}${n}${method};rport`,
      'Max-Forwards: 70',
      `From: <sip:${this.name}@${DOMAIN}>;tag=${this.name}tag`,
      `To: <${ruri}>${opts.toTag === undefined ? '' : `;tag=${opts.toTag}`}`,
      `Call-ID: ${callId}`,
      `CSeq: ${n} ${method}`,
      `Contact: <${this.contact}>`,
      ...(opts.extra ?? []),
    ]);
  }
  register(expires: number): void {
    const n = ++this.seq;
    this.send([
      `REGISTER sip:${DOMAIN} SIP/2.0`,
      `Via: SIP/2.0/UDP ${this.addr.host}:${this.addr.port};branch=z9hG4bKreg${this.name}${n};rport`,
      'Max-Forwards: 70',
      `From: <sip:${this.name}@${DOMAIN}>;tag=r${this.name}`,
      `To: <sip:${this.name}@${DOMAIN}>`,
      `Call-ID: reg-${this.name}`,
      `CSeq: ${n} REGISTER`,
      `Contact: <${this.contact}>`,
      `Expires: ${expires}`,
    ]);
  }
  /** Answers a request it received, back to the top Via (the peer). */
  reply(req: SipRequest, status: number, reason: string): void {
    const h = (n: string): string[] => req.headers.getAll(n).map((v) => `${n}: ${v}`);
    const to = req.headers.get('to') ?? '';
    this.send([`SIP/2.0 ${status} ${reason}`, ...h('Via'), ...h('Record-Route'), ...h('From'), `To: ${to.includes('tag=') ? to : `${to};tag=${this.name}-tt`}`, ...h('Call-ID'), ...h('CSeq'), `Contact: <${this.contact}>`]);
  }
  requests(method: string): SipRequest[] {
    return this.inbox.filter((m): m is SipRequest => m.kind === 'request' && m.method === method);
  }
}

async function world(opts: { listen?: boolean; debug?: boolean } = {}) {
  const clock = new ManualClock(1_000_000);
  const network = new MemoryNetwork();
  const hub = new RecordingHub();
  const seen: Seen[] = [];
  if (opts.listen !== false) {
    hub.on('sip.request', (payload) => seen.push({ name: 'sip.request', payload }));
    hub.on('sip.response', (payload) => seen.push({ name: 'sip.response', payload }));
    hub.on('registration', (payload) => seen.push({ name: 'registration', payload }));
    hub.on('call', (payload) => seen.push({ name: 'call', payload }));
  }
  const logs: LogLine[] = [];
  const logger = {
    info: (obj: object, msg: string) => logs.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    warn: (obj: object, msg: string) => logs.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    debug: (obj: object, msg: string) => logs.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }),
    isLevelEnabled: (level: string) => level !== 'debug' || opts.debug === true,
  };
  const peer = new SipPeer(
    { clock, random: new SeededRandom(7), driver: network.createDriver({ hosts: [PEER.host] }), resolver: new NumericOnlyResolver(), localHosts: [PEER.host], events: hub, logger },
    {
      domains: [DOMAIN],
      listen: [
        { protocol: 'udp', host: PEER.host, port: PEER.port },
        { protocol: 'tcp', host: PEER.host, port: PEER.port },
      ],
      outbound: { mode: 'none' },
      advertisedHost: PEER.host,
    },
  );
  const started = peer.start();
  await settle(network);
  await started;
  let k = 0;
  const phone = async (name: string): Promise<Phone> => {
    const host = `198.18.1.${++k}`;
    const driver = network.createDriver({ hosts: [host] });
    const pending = driver.listen('udp', host, 5060);
    network.flush();
    const p = new Phone(name, driver, await pending);
    driver.setUser({
      onDatagram: (_l, _r, data) => {
        const r = parseMessage(data, { datagram: true });
        if (r.ok) p.inbox.push(r.message);
      },
      onConnectionOpened: () => {},
      onConnectionFailed: () => {},
      onConnectionClosed: () => {},
      onStreamData: () => {},
      onWsMessage: () => {},
    });
    return p;
  };
  const run = (): Promise<void> => settle(network);
  const stop = async (): Promise<void> => {
    const s = peer.stop();
    await run();
    await s;
  };
  return { clock, hub, seen, logs, peer, phone, run, stop };
}

const named = <K extends keyof PeerEventMap>(seen: Seen[], name: K): Array<PeerEventMap[K]> => seen.filter((s) => s.name === name).map((s) => s.payload as PeerEventMap[K]);

describe('peer events: published by the SIP front', () => {
  test('REGISTER: sip.request, registration added / refreshed / removed / expired, sip.response with elapsed ms', async () => {
    const w = await world();
    const alice = await w.phone('alice');
    alice.register(3600);
    await w.run();
    assert.deepEqual(named(w.seen, 'sip.request'), [{ method: 'REGISTER', callId: 'reg-alice', transport: 'udp', source: `${alice.addr.host}:5060` }]);
    assert.deepEqual(named(w.seen, 'registration'), [{ aor: `sip:alice@${DOMAIN}`, contact: alice.contact, expires: 3600, action: 'added' }]);
    assert.deepEqual(named(w.seen, 'sip.response'), [{ method: 'REGISTER', status: 200, callId: 'reg-alice', elapsedMs: 0 }]);

    w.seen.length = 0;
    w.clock.advance(10_000);
    alice.register(120);
    await w.run();
    assert.deepEqual(named(w.seen, 'registration'), [{ aor: `sip:alice@${DOMAIN}`, contact: alice.contact, expires: 120, action: 'refreshed' }]);

    w.seen.length = 0;
    alice.register(0);
    await w.run();
    assert.deepEqual(named(w.seen, 'registration'), [{ aor: `sip:alice@${DOMAIN}`, contact: alice.contact, expires: 0, action: 'removed' }]);
    assert.equal(w.peer.location.size(), 0);

    // a binding whose lifetime ends is reported expired when the location service finds it so
    alice.register(60);
    await w.run();
    w.seen.length = 0;
    w.clock.advance(61_000);
    const bob = await w.phone('bob');
    bob.request('MESSAGE', `sip:alice@${DOMAIN}`, 'msg-1');
    await w.run();
    assert.deepEqual(named(w.seen, 'registration'), [{ aor: `sip:alice@${DOMAIN}`, contact: alice.contact, expires: 0, action: 'expired' }]);
    assert.deepEqual(named(w.seen, 'sip.response'), [{ method: 'MESSAGE', status: 404, callId: 'msg-1', elapsedMs: 0 }]);
    await w.stop();
  });

  test('a call: started, ringing, answered, ended; the INVITE answer carries the time it took', async () => {
    const w = await world();
    const alice = await w.phone('alice');
    const bob = await w.phone('bob');
    alice.register(3600);
    await w.run();
    w.seen.length = 0;
    bob.request('INVITE', `sip:alice@${DOMAIN}`, 'call-1');
    await w.run();
    const invite = alice.requests('INVITE')[0];
    assert.ok(invite !== undefined, 'the INVITE reached alice');
    w.clock.advance(250);
    alice.reply(invite, 180, 'Ringing');
    await w.run();
    w.clock.advance(1_000);
    alice.reply(invite, 200, 'OK');
    await w.run();
    assert.equal(w.peer.callsInProgress(), 1);
    // the BYE comes along the dialog's route set: through the peer (it record-routed)
    bob.request('BYE', `sip:alice@${alice.addr.host}:5060`, 'call-1', { toTag: 'alice-tt', extra: [`Route: ${invite.headers.get('record-route') ?? ''}`] });
    await w.run();
    const calls = named(w.seen, 'call');
    const from = `sip:bob@${DOMAIN}`;
    const to = `sip:alice@${DOMAIN}`;
    assert.deepEqual(calls, [
      { callId: 'call-1', from, to, state: 'started' },
      { callId: 'call-1', from, to, state: 'ringing', status: 180 },
      { callId: 'call-1', from, to, state: 'answered', status: 200 },
      { callId: 'call-1', from, to, state: 'ended' },
    ]);
    assert.equal(w.peer.callsInProgress(), 0);
    const inviteAnswer = named(w.seen, 'sip.response').find((r) => r.method === 'INVITE');
    assert.deepEqual(inviteAnswer, { method: 'INVITE', status: 200, callId: 'call-1', elapsedMs: 1_250 });
    assert.deepEqual(
      named(w.seen, 'sip.request').map((r) => r.method),
      ['INVITE', 'BYE'],
    );
    await w.stop();
  });

  test('a call that fails: failed with the status and the reason phrase', async () => {
    const w = await world();
    const alice = await w.phone('alice');
    const bob = await w.phone('bob');
    bob.request('INVITE', `sip:nobody@${DOMAIN}`, 'call-404');
    await w.run();
    alice.register(3600);
    await w.run();
    bob.request('INVITE', `sip:alice@${DOMAIN}`, 'call-busy');
    await w.run();
    alice.reply(alice.requests('INVITE')[0]!, 486, 'Busy Here');
    await w.run();
    const failed = named(w.seen, 'call').filter((c) => c.state === 'failed');
    assert.deepEqual(failed, [
      { callId: 'call-404', from: `sip:bob@${DOMAIN}`, to: `sip:nobody@${DOMAIN}`, state: 'failed', status: 404, reason: 'Not Found' },
      { callId: 'call-busy', from: `sip:bob@${DOMAIN}`, to: `sip:alice@${DOMAIN}`, state: 'failed', status: 486, reason: 'Busy Here' },
    ]);
    // failures are logged at info with the Call-ID and the reason, whatever the level
    const lines = w.logs.filter((l) => l.msg === 'call: failed');
    assert.deepEqual(
      lines.map((l) => [l.level, l.obj.callId, l.obj.status, l.obj.reason]),
      [
        ['info', 'call-404', 404, 'Not Found'],
        ['info', 'call-busy', 486, 'Busy Here'],
      ],
    );
    assert.equal(w.peer.callsInProgress(), 0);
    await w.stop();
  });

  test('debug lines of a call each carry its callId: the INVITE in and where it went', async () => {
    const w = await world({ debug: true });
    const alice = await w.phone('alice');
    const bob = await w.phone('bob');
    alice.register(3600);
    await w.run();
    bob.request('INVITE', `sip:alice@${DOMAIN}`, 'call-log');
    await w.run();
    alice.reply(alice.requests('INVITE')[0]!, 200, 'OK');
    await w.run();
    const call = w.logs.filter((l) => l.msg.startsWith('call: '));
    assert.deepEqual(
      call.map((l) => [l.level, l.msg]),
      [
        ['debug', 'call: INVITE from a phone'],
        ['debug', `call: INVITE forwarded to ${alice.contact}`],
        ['debug', 'call: answered'],
      ],
    );
    for (const l of call) assert.equal(l.obj.callId, 'call-log');
    assert.equal(call[1]!.obj.target, `udp:${alice.addr.host}:5060`);
    await w.stop();
  });

  test('nothing is built or published while nobody listens (and debug is off)', async () => {
    const w = await world({ listen: false });
    const alice = await w.phone('alice');
    const bob = await w.phone('bob');
    alice.register(3600);
    await w.run();
    bob.request('INVITE', `sip:alice@${DOMAIN}`, 'call-quiet');
    await w.run();
    alice.reply(alice.requests('INVITE')[0]!, 200, 'OK');
    await w.run();
    assert.equal(w.hub.emits, 0);
    assert.equal(w.peer.callsInProgress(), 0, 'no call followed');
    await w.stop();
  });
});

describe('peer events: the tap alone (limits)', () => {
  const clock = (): ManualClock => new ManualClock(0);
  const req = (text: string): SipRequest => {
    const r = parseMessage(Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1'), { datagram: true });
    if (!r.ok || r.message.kind !== 'request') throw new Error('test message does not parse');
    return r.message;
  };
  const invite = (callId: string, branch: string): SipRequest =>
    req(`INVITE sip:a@x SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK${branch}\nFrom: <sip:b@x>;tag=1\nTo: <sip:a@x>\nCall-ID: ${callId}\nCSeq: 1 INVITE\nMax-Forwards: 70\nContent-Length: 0\n\n`);
  const src: TransportAddress = { protocol: 'udp', host: '192.0.2.1', port: 5060 };
  const inbound = (m: SipRequest) => ({ message: m, source: src, local: PEER, flowId: undefined });

  test(`at most ${MAX_TRACKED_CALLS} calls followed: the oldest is dropped and reported`, () => {
    const c = clock();
    const hub = new EventHub<PeerEventMap>();
    const calls: PeerEventMap['call'][] = [];
    hub.on('call', (e) => calls.push(e));
    const tap = new SipEventTap({ clock: c, events: hub });
    for (let i = 0; i <= MAX_TRACKED_CALLS; i++) tap.inbound(inbound(invite(`c${i}`, `b${i}`)));
    assert.equal(tap.callsInProgress(), MAX_TRACKED_CALLS);
    const dropped = calls.filter((e) => e.state !== 'started');
    assert.deepEqual(dropped, [{ callId: 'c0', from: 'sip:b@x', to: 'sip:a@x', state: 'failed', reason: 'no longer followed (call table full)' }]);
  });

  test('a call with no final answer, and a challenged INVITE not sent again, are reported failed after their limits', () => {
    const c = clock();
    const hub = new EventHub<PeerEventMap>();
    const calls: PeerEventMap['call'][] = [];
    hub.on('call', (e) => calls.push(e));
    const sent: SipMessage[] = [];
    const tap = new SipEventTap({ clock: c, events: hub });
    const transport = tap.wrap({ send: (m) => sent.push(m), isReliable: () => false, localAddress: () => undefined });
    tap.inbound(inbound(invite('silent', 's1')));
    const challenged = invite('challenged', 's2');
    tap.inbound(inbound(challenged));
    const r407 = parseMessage(Buffer.from(`SIP/2.0 407 Proxy Authentication Required\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKs2\r\nFrom: <sip:b@x>;tag=1\r\nTo: <sip:a@x>;tag=p\r\nCall-ID: challenged\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`, 'latin1'), { datagram: true });
    assert.ok(r407.ok);
    transport.send(r407.message, { destination: src });
    assert.equal(sent.length, 1, 'the wrapped transport still sends');
    assert.equal(tap.callsInProgress(), 1, 'a challenged INVITE is not a call in progress');
    c.advance(CHALLENGE_WAIT_MS);
    assert.equal(tap.callsInProgress(), 1);
    assert.deepEqual(calls.at(-1), { callId: 'challenged', from: 'sip:b@x', to: 'sip:a@x', state: 'failed', status: 407, reason: 'the INVITE was not sent again with credentials after the challenge' });
    c.advance(MAX_SETUP_MS);
    assert.equal(tap.callsInProgress(), 0);
    assert.deepEqual(calls.at(-1), { callId: 'silent', from: 'sip:b@x', to: 'sip:a@x', state: 'failed', reason: 'no final answer seen' });
  });

  test(`requests awaiting their answer: at most ${MAX_TRACKED_REQUESTS}; the oldest is forgotten (no sip.response for it)`, () => {
    const c = clock();
    const hub = new EventHub<PeerEventMap>();
    const answers: PeerEventMap['sip.response'][] = [];
    hub.on('sip.response', (e) => answers.push(e));
    const tap = new SipEventTap({ clock: c, events: hub });
    const transport = tap.wrap({ send: () => {}, isReliable: () => false, localAddress: () => undefined });
    for (let i = 0; i <= MAX_TRACKED_REQUESTS; i++) tap.inbound(inbound(invite(`r${i}`, `q${i}`)));
    const answer = (i: number): void => {
      const r = parseMessage(Buffer.from(`SIP/2.0 404 Not Found\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKq${i}\r\nFrom: <sip:b@x>;tag=1\r\nTo: <sip:a@x>;tag=p\r\nCall-ID: r${i}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`, 'latin1'), { datagram: true });
      assert.ok(r.ok);
      transport.send(r.message, { destination: src });
    };
    answer(0);
    answer(MAX_TRACKED_REQUESTS);
    answer(MAX_TRACKED_REQUESTS); // a retransmitted final response is not another answer
    assert.deepEqual(answers, [{ method: 'INVITE', status: 404, callId: `r${MAX_TRACKED_REQUESTS}`, elapsedMs: 0 }]);
  });
});
