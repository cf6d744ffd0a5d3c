/**
 * DNS-SD / mDNS logic of LAN discovery (issue 15): TXT encode/parse/validation, the answers to
 * queries (PTR, SRV, TXT, A/AAAA, the SIP domain, QU), and what a response offers (foreign
 * configurations and overlays ignored, our own advertisement ignored).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  answerQuery,
  announcement,
  encodeServiceTxt,
  hostName,
  instanceName,
  mdnsSipDomain,
  ownsName,
  parseServiceTxt,
  readAdvertisements,
  SERVICE_TYPE,
  type Advertisement,
} from '../../../../src/node/discovery/dns-sd-service.js';
import { viewOfPacket, type MdnsPacketView, type MdnsQuestion, type MdnsRecord } from '../../../../src/node/discovery/mdns-model.js';

const enc = new TextEncoder();
const SELF: Advertisement = { overlay: 'p2psip.local', fingerprint: '0123456789abcdef', nodeId: 'aa'.repeat(16), overlayPort: 6084, sipPort: 5060, sipDomain: 'p2psip.local' };
const OTHER: Advertisement = { ...SELF, nodeId: 'bb'.repeat(16), overlayPort: 7000 };
const LINK = { v4: ['192.0.2.1'], v6: ['2001:db8::1'] };

function query(...qs: Array<Partial<MdnsQuestion> & { name: string }>): MdnsPacketView {
  return { kind: 'query', id: 0, questions: qs.map((q) => ({ type: 'ANY', unicastResponse: false, ...q })), records: [], skipped: 0 };
}
function response(records: MdnsRecord[]): MdnsPacketView {
  return { kind: 'response', id: 0, questions: [], records, skipped: 0 };
}

describe('TXT record', () => {
  test('encodes and parses back', () => {
    const r = parseServiceTxt(encodeServiceTxt(SELF));
    assert.deepEqual(r, { ok: true, txt: { version: '1', overlay: 'p2psip.local', fingerprint: SELF.fingerprint, nodeId: SELF.nodeId } });
  });
  test('keys are case-insensitive, the first of a repeated key wins, unknown keys and booleans ignored', () => {
    const r = parseServiceTxt(['V=1', 'o=p2psip.local', 'o=evil', 'flag', 'x=y', `C=${SELF.fingerprint}`, `n=${SELF.nodeId}`].map((s) => enc.encode(s)));
    assert.equal(r.ok && r.txt.overlay, 'p2psip.local');
  });
  test('rejects: missing key, wrong version, bad values, bad UTF-8, empty or over-long strings', () => {
    const base = encodeServiceTxt(SELF);
    assert.deepEqual(parseServiceTxt(base.slice(1)), { ok: false, problem: 'txt-missing-key' });
    assert.deepEqual(parseServiceTxt([enc.encode('v=2'), ...base.slice(1)]), { ok: false, problem: 'txt-version' });
    assert.deepEqual(parseServiceTxt([...base.slice(0, 2), enc.encode('c=XYZ'), base[3]!]), { ok: false, problem: 'txt-bad-value' });
    assert.deepEqual(parseServiceTxt([...base.slice(0, 3), enc.encode('n=abc')]), { ok: false, problem: 'txt-bad-value' });
    assert.deepEqual(parseServiceTxt([Uint8Array.of(0x6f, 0x3d, 0xff), ...base]), { ok: false, problem: 'txt-malformed' });
    assert.deepEqual(parseServiceTxt([new Uint8Array(0), ...base]), { ok: false, problem: 'txt-malformed' });
    assert.deepEqual(parseServiceTxt([new Uint8Array(256).fill(0x61), ...base]), { ok: false, problem: 'txt-malformed' });
    assert.deepEqual(parseServiceTxt([...base.slice(0, 1), enc.encode(`o=${'x'.repeat(201)}`), ...base.slice(2)]), { ok: false, problem: 'txt-bad-value' });
  });
});

describe('names', () => {
  test('instance and host names from the Node-ID; the SIP domain only when it ends in .local', () => {
    assert.equal(instanceName(SELF), `aaaaaaaaaaaa.${SERVICE_TYPE}`);
    assert.equal(hostName(SELF), 'p2psip-aaaaaaaaaaaa.local');
    assert.equal(mdnsSipDomain('P2PSIP.local.'), 'p2psip.local');
    assert.equal(mdnsSipDomain('example.com'), undefined);
    assert.equal(mdnsSipDomain('bad_name.local'), undefined);
  });
});

describe('answers to queries', () => {
  test('PTR for the service type: the instance, with SRV, TXT and host addresses as additionals', () => {
    const a = answerQuery(query({ name: SERVICE_TYPE, type: 'PTR' }), SELF, LINK)!;
    assert.deepEqual(a.answers, [{ type: 'PTR', name: SERVICE_TYPE, ttl: 120, flush: false, data: instanceName(SELF) }]);
    assert.deepEqual(a.additionals.map((r) => r.type).sort(), ['A', 'AAAA', 'SRV', 'TXT']);
    const srv = a.additionals.find((r) => r.type === 'SRV');
    assert.deepEqual(srv?.data, { priority: 0, weight: 0, port: 6084, target: hostName(SELF) });
    assert.equal(a.unicast, false);
  });
  test('A of the SIP domain: our address on that link, shared (no cache-flush bit); AAAA likewise', () => {
    const a = answerQuery(query({ name: 'p2psip.local', type: 'A' }), SELF, LINK)!;
    assert.deepEqual(a.answers, [{ type: 'A', name: 'p2psip.local', ttl: 120, flush: false, data: '192.0.2.1' }]);
    const six = answerQuery(query({ name: 'p2psip.local', type: 'AAAA' }), SELF, LINK)!;
    assert.deepEqual(six.answers.map((r) => r.data), ['2001:db8::1']);
    assert.equal(answerQuery(query({ name: 'p2psip.local', type: 'AAAA' }), SELF, { v4: ['192.0.2.1'], v6: [] }), undefined);
  });
  test('SRV of _sip._udp and _sip._tcp under the domain: our SIP port at our host name, with its A', () => {
    for (const t of ['udp', 'tcp']) {
      const a = answerQuery(query({ name: `_sip._${t}.p2psip.local`, type: 'SRV' }), SELF, LINK)!;
      assert.deepEqual(a.answers, [{ type: 'SRV', name: `_sip._${t}.p2psip.local`, ttl: 120, flush: false, data: { priority: 0, weight: 0, port: 5060, target: hostName(SELF) } }]);
      assert.ok(a.additionals.some((r) => r.type === 'A' && r.name === hostName(SELF) && r.data === '192.0.2.1'));
    }
  });
  test('DNS-SD browse of _sip._udp in the domain: PTR to our instance, its SRV, TXT and host address as additionals', () => {
    const a = answerQuery(query({ name: '_sip._udp.p2psip.local', type: 'PTR' }), SELF, LINK)!;
    assert.deepEqual(a.answers, [{ type: 'PTR', name: '_sip._udp.p2psip.local', ttl: 120, flush: false, data: 'aaaaaaaaaaaa._sip._udp.p2psip.local' }]);
    assert.deepEqual(a.additionals.map((r) => `${r.type} ${r.name}`).sort(), [
      'A p2psip-aaaaaaaaaaaa.local',
      'AAAA p2psip-aaaaaaaaaaaa.local',
      'SRV aaaaaaaaaaaa._sip._udp.p2psip.local',
      'TXT aaaaaaaaaaaa._sip._udp.p2psip.local',
    ]);
    const inst = answerQuery(query({ name: 'aaaaaaaaaaaa._sip._tcp.p2psip.local', type: 'SRV' }), SELF, LINK)!;
    assert.deepEqual(inst.answers[0]?.data, { priority: 0, weight: 0, port: 5060, target: hostName(SELF) });
  });
  test('NAPTR of the SIP domain (RFC 3263): UDP then TCP, with the SRVs and the host address as additionals', () => {
    const a = answerQuery(query({ name: 'p2psip.local', type: 'NAPTR' }), SELF, LINK)!;
    assert.deepEqual(a.answers.map((r) => r.type === 'NAPTR' && [r.data.order, r.data.services, r.data.replacement]), [
      [10, 'SIP+D2U', '_sip._udp.p2psip.local'],
      [20, 'SIP+D2T', '_sip._tcp.p2psip.local'],
    ]);
    assert.deepEqual(a.additionals.map((r) => `${r.type} ${r.name}`).sort(), ['A p2psip-aaaaaaaaaaaa.local', 'AAAA p2psip-aaaaaaaaaaaa.local', 'SRV _sip._tcp.p2psip.local', 'SRV _sip._udp.p2psip.local']);
    assert.ok(a.answers.every((r) => !r.flush));
  });
  test('ownsName: our instance, host, domain and SIP service names only', () => {
    for (const n of [instanceName(SELF), hostName(SELF), 'p2psip.local', '_sip._udp.p2psip.local', '_sips._tcp.p2psip.local', 'x._sip._tcp.p2psip.local']) assert.equal(ownsName(n, SELF), true, n);
    for (const n of ['printer.local', '_p2psip._tcp.local', 'p2psip.local.evil']) assert.equal(ownsName(n, SELF), false, n);
  });
  test('QU questions ask for a unicast answer', () => {
    const a = answerQuery(query({ name: 'p2psip.local', type: 'A', unicastResponse: true }), SELF, LINK)!;
    assert.equal(a.unicast, true);
  });
  test('our host name, our instance (SRV/TXT), service enumeration', () => {
    assert.deepEqual(answerQuery(query({ name: hostName(SELF), type: 'A' }), SELF, LINK)!.answers[0], { type: 'A', name: hostName(SELF), ttl: 120, flush: true, data: '192.0.2.1' });
    assert.deepEqual(answerQuery(query({ name: instanceName(SELF), type: 'TXT' }), SELF, LINK)!.answers.map((r) => r.type), ['TXT']);
    assert.deepEqual(answerQuery(query({ name: '_services._dns-sd._udp.local', type: 'PTR' }), SELF, LINK)!.answers[0]?.data, SERVICE_TYPE);
  });
  test('nothing for names that are not ours, other types, or a domain that is not .local', () => {
    assert.equal(answerQuery(query({ name: 'printer.local', type: 'A' }), SELF, LINK), undefined);
    assert.equal(answerQuery(query({ name: 'p2psip.local', type: 'OTHER' }), SELF, LINK), undefined);
    const { sipDomain: _d, ...noDomain } = SELF;
    assert.equal(answerQuery(query({ name: 'p2psip.local', type: 'A' }), noDomain, LINK), undefined);
    assert.equal(answerQuery(response([]), SELF, LINK), undefined);
  });
});

describe('reading advertisements', () => {
  const addrs = { v4: ['192.0.2.2'], v6: [] };
  test('an announcement of another peer of our overlay and configuration is a candidate at its A record', () => {
    const r = readAdvertisements(response(announcement(OTHER, addrs)), SELF, '192.0.2.2');
    assert.deepEqual(r, { candidates: [{ host: '192.0.2.2', port: 7000, source: 'mdns', nodeId: OTHER.nodeId }], problems: [] });
  });
  test('without an A record the source address is used', () => {
    const recs = announcement(OTHER, { v4: [], v6: [] });
    assert.deepEqual(readAdvertisements(response(recs), SELF, '192.0.2.9').candidates[0]?.host, '192.0.2.9');
  });
  test('another configuration (e.g. --open), another overlay, our own advertisement: no candidate', () => {
    assert.deepEqual(readAdvertisements(response(announcement({ ...OTHER, fingerprint: 'ffffffffffffffff' }, addrs)), SELF, '192.0.2.2'), { candidates: [], problems: ['foreign-config'] });
    assert.deepEqual(readAdvertisements(response(announcement({ ...OTHER, overlay: 'other.local' }, addrs)), SELF, '192.0.2.2').problems, ['foreign-overlay']);
    assert.deepEqual(readAdvertisements(response(announcement(SELF, addrs)), SELF, '192.0.2.1').problems, ['own-advertisement']);
  });
  test('multicast or unspecified addresses, port 0, a bare PTR, a goodbye: no candidate', () => {
    assert.deepEqual(readAdvertisements(response(announcement(OTHER, { v4: ['224.0.0.251'], v6: [] })), SELF, '192.0.2.2').problems, ['bad-address']);
    assert.deepEqual(readAdvertisements(response(announcement({ ...OTHER, overlayPort: 0 }, addrs)), SELF, '192.0.2.2').problems, ['bad-port']);
    assert.deepEqual(readAdvertisements(response(announcement(OTHER, addrs).slice(0, 1)), SELF, '192.0.2.2').problems, ['no-srv']);
    assert.deepEqual(readAdvertisements(response(announcement(OTHER, addrs).map((r) => ({ ...r, ttl: 0 }))), SELF, '192.0.2.2').candidates, []);
  });
});

describe('packet view: bounds and garbage', () => {
  const q = (name: unknown) => ({ type: 'query', id: 1, questions: [{ name, type: 'A', class: 'IN' }] });
  test('a well-formed query; the QU bit as dns-packet decodes it', () => {
    const r = viewOfPacket({ type: 'query', id: 7, questions: [{ name: 'P2PSIP.local.', type: 'A', class: 'UNKNOWN_32769' }] }, 40);
    assert.deepEqual(r, { ok: true, view: { kind: 'query', id: 7, questions: [{ name: 'p2psip.local', type: 'A', unicastResponse: true }], records: [], skipped: 0 } });
  });
  test('too big, too many questions or records, names too long or malformed, not an object', () => {
    assert.deepEqual(viewOfPacket(q('a.local'), 9001), { ok: false, problem: 'too-big' });
    assert.deepEqual(viewOfPacket({ type: 'query', questions: Array.from({ length: 33 }, () => ({ name: 'a.local', type: 'A' })) }, 100), { ok: false, problem: 'too-many-questions' });
    assert.deepEqual(viewOfPacket({ type: 'response', answers: Array.from({ length: 65 }, () => ({ name: 'a.local', type: 'A', data: '192.0.2.1' })) }, 100), { ok: false, problem: 'too-many-records' });
    assert.deepEqual(viewOfPacket(q(`${'a'.repeat(64)}.local`), 100), { ok: false, problem: 'bad-name' });
    assert.deepEqual(viewOfPacket(q(`${'abcdefgh.'.repeat(30)}local`), 100), { ok: false, problem: 'bad-name' });
    assert.deepEqual(viewOfPacket(q('a\u0000b.local'), 100), { ok: false, problem: 'bad-name' });
    assert.deepEqual(viewOfPacket(q(42), 100), { ok: false, problem: 'bad-name' });
    assert.deepEqual(viewOfPacket(null, 10), { ok: false, problem: 'not-an-object' });
    assert.deepEqual(viewOfPacket({ type: 'what' }, 10), { ok: false, problem: 'not-an-object' });
  });
  test('TXT over its bounds, SRV with a bad port, unknown record types skipped', () => {
    const txt = (data: unknown) => viewOfPacket({ type: 'response', answers: [{ name: 'x.local', type: 'TXT', data }] }, 100);
    assert.deepEqual(txt(Array.from({ length: 17 }, () => Buffer.from('a=b'))), { ok: false, problem: 'bad-record' });
    assert.deepEqual(txt(Array.from({ length: 6 }, () => Buffer.alloc(250, 0x61))), { ok: false, problem: 'bad-record' });
    assert.deepEqual(txt([Buffer.alloc(256)]), { ok: false, problem: 'bad-record' });
    assert.deepEqual(viewOfPacket({ type: 'response', answers: [{ name: 'x.local', type: 'SRV', data: { port: 70000, target: 'h.local' } }] }, 100), { ok: false, problem: 'bad-record' });
    const r = viewOfPacket({ type: 'response', answers: [{ name: 'x.local', type: 'HINFO', data: {} }, { name: 'x.local', type: 'A', data: '192.0.2.1', ttl: 120 }] }, 100);
    assert.ok(r.ok && r.view.skipped === 1 && r.view.records.length === 1);
  });
});
