/**
 * The LAN discovery core on a fake clock and a fake transport (issue 15): announce and browse
 * schedule, answers (multicast, QU, legacy unicast), candidates offered once per re-offer interval,
 * off-link sources ignored, floods bounded, garbage counted and logged once, multicast bootstrap
 * Ping/PingAns between two cores.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import type { BootstrapCandidate } from '../../../../src/node/bootstrap-candidate.js';
import { announcement, hostName, SERVICE_TYPE, type Advertisement } from '../../../../src/node/discovery/dns-sd-service.js';
import { LanDiscovery, discoveryOptions, type Endpoint, type MdnsOutgoing } from '../../../../src/node/discovery/lan-discovery-core.js';
import { BrowseBackoff } from '../../../../src/node/discovery/browse-backoff.js';
import { DiscoveredCandidates } from '../../../../src/node/discovery/discovered-candidates.js';
import { ProblemLog } from '../../../../src/node/discovery/problem-log.js';
import type { BootstrapSelf } from '../../../../src/node/discovery/multicast-bootstrap.js';
import { wirePacket } from '../../../../src/node/lan-discovery-service.js';

const FP = '0123456789abcdef';
function ad(idByte: string, port = 6084): Advertisement {
  return { overlay: 'p2psip.local', fingerprint: FP, nodeId: idByte.repeat(16), overlayPort: port, sipPort: 5060, sipDomain: 'p2psip.local' };
}
function bself(idByte: number, port: number, fp = FP): BootstrapSelf {
  return { overlayHash: 0x12345678, configurationSequence: 0, nodeId: new Uint8Array(16).fill(idByte), overlayPort: port, fingerprint: Buffer.from(fp, 'hex') };
}

interface Harness {
  core: LanDiscovery;
  clock: ManualClock;
  mdns: Array<{ packet: MdnsOutgoing; to?: Endpoint }>;
  boot: Array<{ bytes: Uint8Array; to?: Endpoint }>;
  offers: BootstrapCandidate[];
  warns: Array<{ obj: object; msg: string }>;
}

/** Sources in 192.0.2.0/24 are on our link (we are 192.0.2.1); anything else is not. */
function harness(a: Advertisement, b?: BootstrapSelf, clock = new ManualClock(0)): Harness {
  const h: Omit<Harness, 'core'> = { clock, mdns: [], boot: [], offers: [], warns: [] };
  const core = new LanDiscovery(
    {
      clock,
      random: new SeededRandom(7),
      transport: { sendMdns: (packet, to) => h.mdns.push(to === undefined ? { packet } : { packet, to }), sendBootstrap: (bytes, to) => h.boot.push(to === undefined ? { bytes } : { bytes, to }) },
      sink: { offer: (c) => h.offers.push(c) },
      log: { warn: (obj, msg) => h.warns.push({ obj, msg }), info: () => {} },
      linkAddresses: (src) => (src.startsWith('192.0.2.') ? { v4: ['192.0.2.1'], v6: [] } : undefined),
      allAddresses: () => ({ v4: ['192.0.2.1'], v6: [] }),
    },
    discoveryOptions(a, b),
  );
  return { ...h, core };
}

/** What a packet we send looks like after the wire (encode with dns-packet, decode again). */
function roundTrip(p: MdnsOutgoing): { packet: unknown; size: number } {
  const bytes = dnsPacket.encode(wirePacket(p) as unknown as dnsPacket.Packet);
  return { packet: dnsPacket.decode(bytes), size: bytes.length };
}

const FROM = { host: '192.0.2.2', port: 5353 };

describe('LAN discovery core: mDNS', () => {
  test('announces at start and 1 s later, browses after 20-120 ms then at 1, 2, 4 … s, says goodbye at stop', () => {
    const h = harness(ad('aa'));
    h.core.start();
    assert.equal(h.mdns.length, 1);
    assert.equal(h.mdns[0]!.packet.kind, 'response');
    h.clock.advance(120);
    const queries = () => h.mdns.filter((m) => m.packet.kind === 'query');
    assert.equal(queries().length, 1);
    assert.deepEqual(queries()[0]!.packet.questions, [{ name: SERVICE_TYPE, type: 'PTR', unicastResponse: false }]);
    h.clock.advance(1000);
    assert.equal(h.mdns.filter((m) => m.packet.kind === 'response').length, 2);
    h.clock.advance(1000 + 2000 + 4000 + 8000);
    // ±10 % jitter: queries at ~0.1, ~1.1, ~3.1, ~7.1, ~15.1 s
    assert.ok(queries().length >= 4 && queries().length <= 5, `queries: ${queries().length}`);
    h.core.stop();
    const bye = h.mdns.at(-1)!.packet;
    assert.ok(bye.kind === 'response' && bye.answers.every((r) => r.ttl === 0));
    const n = h.mdns.length;
    h.clock.advance(120_000);
    assert.equal(h.mdns.length, n, 'no traffic after stop');
  });

  test('answers a query by multicast, a QU query by unicast, a legacy (non-5353) query by unicast with its id and TTL <= 10', () => {
    const h = harness(ad('aa'));
    h.core.start();
    h.mdns.length = 0;
    const q = (qu: boolean, port: number, id = 0) => {
      const { packet, size } = roundTrip({ kind: 'query', questions: [{ name: 'p2psip.local', type: 'A', unicastResponse: false }] });
      const p = packet as { id: number; questions: Array<{ class: string }> };
      p.id = id;
      if (qu) p.questions[0]!.class = 'UNKNOWN_32769';
      h.core.receiveMdns(p, size, { host: '192.0.2.2', port });
      return h.mdns.pop()!;
    };
    const m = q(false, 5353);
    assert.equal(m.to, undefined);
    assert.ok(m.packet.kind === 'response' && m.packet.answers[0]?.type === 'A' && m.packet.answers[0].data === '192.0.2.1');
    assert.deepEqual(q(true, 5353).to, { host: '192.0.2.2', port: 5353 });
    const legacy = q(false, 40000, 4242);
    assert.deepEqual(legacy.to, { host: '192.0.2.2', port: 40000 });
    assert.ok(legacy.packet.kind === 'response' && legacy.packet.id === 4242 && legacy.packet.questions.length === 1 && legacy.packet.answers.every((r) => r.ttl <= 10));
  });

  test('legacy unicast: a type we do not have for a name we own gets an empty answer at once; other names, or port 5353, silence', () => {
    const h = harness(ad('aa'));
    h.core.start();
    h.mdns.length = 0;
    const ask = (name: string, type: 'TXT' | 'AAAA', port: number) => {
      const { packet, size } = roundTrip({ kind: 'query', questions: [{ name, type, unicastResponse: false }] });
      h.core.receiveMdns(packet, size, { host: '192.0.2.2', port });
    };
    ask('p2psip.local', 'TXT', 40000);
    assert.equal(h.mdns.length, 1);
    const m = h.mdns[0]!;
    assert.deepEqual(m.to, { host: '192.0.2.2', port: 40000 });
    assert.ok(m.packet.kind === 'response' && m.packet.answers.length === 0 && m.packet.questions.length === 1);
    ask('printer.local', 'TXT', 40000);
    ask('p2psip.local', 'TXT', 5353);
    assert.equal(h.mdns.length, 1);
  });

  test('a query from off our links is not answered (RFC 6762 §11) and counted', () => {
    const h = harness(ad('aa'));
    h.core.start();
    h.mdns.length = 0;
    const { packet, size } = roundTrip({ kind: 'query', questions: [{ name: 'p2psip.local', type: 'A', unicastResponse: false }] });
    h.core.receiveMdns(packet, size, { host: '203.0.113.5', port: 5353 });
    assert.equal(h.mdns.length, 0);
    assert.equal((h.core.status() as { problems: Record<string, number> }).problems['off-link'], 1);
  });

  test('an advertisement of another peer is offered once, again only after the re-offer interval', () => {
    const h = harness(ad('aa'));
    h.core.start();
    const { packet, size } = roundTrip({ kind: 'response', id: 0, questions: [], answers: announcement(ad('bb', 7000), { v4: ['192.0.2.2'], v6: [] }), additionals: [] });
    h.core.receiveMdns(packet, size, FROM);
    h.core.receiveMdns(packet, size, FROM);
    assert.deepEqual(h.offers, [{ host: '192.0.2.2', port: 7000, source: 'mdns', nodeId: 'bb'.repeat(16) }]);
    h.clock.advance(60_000);
    h.core.receiveMdns(packet, size, FROM);
    assert.equal(h.offers.length, 2);
  });

  test('another configuration is ignored, logged once, counted each time', () => {
    const h = harness(ad('aa'));
    h.core.start();
    const { packet, size } = roundTrip({ kind: 'response', id: 0, questions: [], answers: announcement({ ...ad('bb'), fingerprint: 'ffffffffffffffff' }, { v4: ['192.0.2.2'], v6: [] }), additionals: [] });
    for (let i = 0; i < 5; i++) h.core.receiveMdns(packet, size, FROM);
    assert.equal(h.offers.length, 0);
    assert.equal(h.warns.filter((w) => (w.obj as { problem: string }).problem === 'foreign-config').length, 1);
    assert.equal((h.core.status() as { problems: Record<string, number> }).problems['foreign-config'], 5);
  });

  test('a flood: one source is rate-limited, many advertised peers fill at most 64 table entries', () => {
    const h = harness(ad('aa'));
    h.core.start();
    const query = roundTrip({ kind: 'query', questions: [{ name: 'p2psip.local', type: 'A', unicastResponse: false }] });
    const before = h.mdns.length;
    for (let i = 0; i < 1000; i++) h.core.receiveMdns(query.packet, query.size, FROM);
    assert.ok(h.mdns.length - before <= 40, `answers sent: ${h.mdns.length - before}`);
    const s = h.core.status() as { problems: Record<string, number>; candidates: unknown[] };
    assert.ok(s.problems['rate-limited']! >= 960);
    for (let i = 0; i < 300; i++) {
      const id = i.toString(16).padStart(32, '0');
      const src = { host: `192.0.2.${(i % 250) + 2}`, port: 5353 };
      h.clock.advance(1000);
      const { packet, size } = roundTrip({ kind: 'response', id: 0, questions: [], answers: announcement({ ...ad('bb'), nodeId: id }, { v4: [src.host], v6: [] }), additionals: [] });
      h.core.receiveMdns(packet, size, src);
    }
    const after = h.core.status() as { candidates: unknown[]; candidateEvictions: number };
    assert.equal(after.candidates.length, 64);
    assert.ok(after.candidateEvictions > 0);
  });

  test('random and truncated bytes never throw: what dns-packet decodes is validated, the rest counted', () => {
    const h = harness(ad('aa'));
    h.core.start();
    const rnd = new SeededRandom(11);
    const good = dnsPacket.encode(wirePacket({ kind: 'response', id: 0, questions: [], answers: announcement(ad('bb'), { v4: ['192.0.2.2'], v6: [] }), additionals: [] }) as unknown as dnsPacket.Packet);
    let undecodable = 0;
    for (let i = 0; i < 2000; i++) {
      h.clock.advance(100);
      const bytes = i % 2 === 0 ? Buffer.from(rnd.bytes(1 + (rnd.u32() % 600))) : good.subarray(0, rnd.u32() % good.length);
      if (i % 5 === 0) bytes[4] = 0xff; // huge question count
      let packet: unknown;
      try {
        packet = dnsPacket.decode(bytes);
      } catch {
        undecodable++;
        continue;
      }
      h.core.receiveMdns(packet, bytes.length, { host: `192.0.2.${(i % 200) + 2}`, port: 5353 });
    }
    assert.ok(undecodable > 0);
    assert.equal(h.offers.length, 0);
  });
});

describe('LAN discovery core: arbitrary decoded objects', () => {
  test('whatever shape a decoder hands in, nothing throws and nothing is offered', () => {
    const h = harness(ad('aa'));
    h.core.start();
    const record = fc.record({ name: fc.oneof(fc.string(), fc.constant('_p2psip._tcp.local'), fc.anything()), type: fc.constantFrom('A', 'AAAA', 'PTR', 'SRV', 'TXT', 'NAPTR', 'X'), ttl: fc.anything(), data: fc.anything() }, { requiredKeys: [] });
    const packet = fc.oneof(fc.anything(), fc.record({ type: fc.constantFrom('query', 'response'), id: fc.anything(), questions: fc.array(record, { maxLength: 5 }), answers: fc.array(record, { maxLength: 5 }), additionals: fc.anything() }, { requiredKeys: [] }));
    let i = 0;
    fc.assert(
      fc.property(packet, fc.nat(10_000), (p, size) => {
        h.clock.advance(1000);
        h.core.receiveMdns(p, size, { host: `192.0.2.${(i++ % 250) + 2}`, port: 5353 });
      }),
      { numRuns: 500, seed: 42 },
    );
    assert.equal(h.offers.length, 0);
  });
});

describe('LAN discovery core: multicast bootstrap', () => {
  test('a Ping to the group is answered by unicast; each side learns the other', () => {
    const clock = new ManualClock(0);
    const a = harness(ad('aa'), bself(0xaa, 6084), clock);
    const b = harness(ad('bb'), bself(0xbb, 7000), clock);
    a.core.start();
    b.core.start();
    clock.advance(120);
    const ping = a.boot.find((x) => x.to === undefined)!;
    b.core.receiveBootstrap(ping.bytes, { host: '192.0.2.1', port: 40001 }, 'group');
    assert.deepEqual(b.offers, [{ host: '192.0.2.1', port: 6084, source: 'multicast', nodeId: 'aa'.repeat(16) }]);
    const answer = b.boot.find((x) => x.to !== undefined)!;
    assert.deepEqual(answer.to, { host: '192.0.2.1', port: 40001 });
    a.core.receiveBootstrap(answer.bytes, { host: '192.0.2.2', port: 40002 }, 'unicast');
    assert.deepEqual(a.offers, [{ host: '192.0.2.2', port: 7000, source: 'multicast', nodeId: 'bb'.repeat(16) }]);
    // an answer on the group socket, or to a peer that never pinged: ignored
    a.core.receiveBootstrap(answer.bytes, { host: '192.0.2.2', port: 40002 }, 'group');
    const c = harness(ad('cc'), bself(0xcc, 7001), clock);
    c.core.start();
    c.core.receiveBootstrap(answer.bytes, { host: '192.0.2.2', port: 40002 }, 'unicast');
    assert.equal((a.core.status() as { problems: Record<string, number> }).problems['bootstrap-unsolicited-answer'], 1);
    assert.equal((c.core.status() as { problems: Record<string, number> }).problems['bootstrap-unsolicited-answer'], 1);
    assert.equal(a.offers.length + c.offers.length, 1);
  });

  test('another configuration, our own Ping looped back, random bytes: nothing offered, nothing answered', () => {
    const clock = new ManualClock(0);
    const a = harness(ad('aa'), bself(0xaa, 6084), clock);
    const foreign = harness(ad('cc'), bself(0xcc, 7000, 'ffffffffffffffff'), clock);
    a.core.start();
    foreign.core.start();
    clock.advance(120);
    const ping = foreign.boot.find((x) => x.to === undefined)!;
    a.core.receiveBootstrap(ping.bytes, { host: '192.0.2.3', port: 40003 }, 'group');
    const own = a.boot.find((x) => x.to === undefined)!;
    a.core.receiveBootstrap(own.bytes, { host: '192.0.2.1', port: 40001 }, 'group');
    const rnd = new SeededRandom(3);
    for (let i = 0; i < 500; i++) {
      clock.advance(100);
      a.core.receiveBootstrap(i % 2 ? rnd.bytes(rnd.u32() % 200) : own.bytes.subarray(0, rnd.u32() % own.bytes.length), { host: '192.0.2.4', port: 1 }, 'group');
    }
    assert.equal(a.offers.length, 0);
    assert.equal(a.boot.filter((x) => x.to !== undefined).length, 0);
    const problems = (a.core.status() as { problems: Record<string, number> }).problems;
    assert.equal(problems['bootstrap-foreign-config'], 1);
    assert.ok(problems['bootstrap-not-reload']! > 0);
  });
});

describe('bounded helpers', () => {
  test('backoff: 1, 2, 4 … 60 s, each within ±10 %', () => {
    const b = new BrowseBackoff(new SeededRandom(1));
    const got = Array.from({ length: 9 }, () => b.next());
    const want = [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000];
    got.forEach((d, i) => assert.ok(Math.abs(d - want[i]!) <= want[i]! * 0.1, `${i}: ${d}`));
    b.reset();
    assert.ok(b.next() <= 1100);
  });
  test('candidate table: LRU at its bound, re-offer throttle', () => {
    const t = new DiscoveredCandidates({ maxEntries: 2, reofferMs: 10 });
    const c = (h: string): BootstrapCandidate => ({ host: h, port: 1, source: 'mdns' });
    assert.equal(t.note(c('a'), 0), true);
    assert.equal(t.note(c('a'), 5), false);
    assert.equal(t.note(c('a'), 10), true);
    t.note(c('b'), 11);
    t.note(c('c'), 12);
    assert.deepEqual(t.list().map((e) => e.host), ['c', 'b']);
    assert.equal(t.evictions, 1);
  });
  test('problem log: once per kind, counted', () => {
    const lines: string[] = [];
    const p = new ProblemLog({ warn: (_o, m) => lines.push(m) }, 'x');
    for (let i = 0; i < 3; i++) p.note('a');
    p.note('b');
    assert.equal(lines.length, 2);
    assert.deepEqual(p.counters(), { a: 3, b: 1 });
  });
  test('host names are what SRV targets carry', () => {
    assert.equal(hostName(ad('aa')), 'p2psip-aaaaaaaaaaaa.local');
  });
});
