import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  candidatePriority,
  checkCredentials,
  computeFoundation,
  eliminateRedundant,
  generateCredentials,
  generateTieBreaker,
  makeLocalCandidate,
  pairPriority,
  peerReflexivePriority,
} from '../../../src/nat/ice/ice-candidate.js';
import type { LocalCandidate, RemoteCandidate } from '../../../src/nat/ice/ice-candidate.js';
import { CheckList, IllegalPairTransition } from '../../../src/nat/ice/ice-check-list.js';
import { IceCandidateSet } from '../../../src/nat/ice/ice-candidate-set.js';
import { IceError } from '../../../src/nat/ice/ice-error.js';
import { SeededRandom } from '../../../src/lib/random.js';

const HOST = makeLocalCandidate({ type: 'host', address: { host: '10.0.0.2', port: 6084 }, base: 'host' });
const SRFLX = makeLocalCandidate({ type: 'srflx', address: { host: '203.0.113.1', port: 40_000 }, base: 'host', related: { host: '10.0.0.2', port: 6084 }, server: '192.0.2.1' });
const RELAY = makeLocalCandidate({ type: 'relay', address: { host: '198.51.100.50', port: 50_000 }, base: 'relay:1', related: { host: '203.0.113.1', port: 40_000 }, server: '198.51.100.50' });
const HOST6 = makeLocalCandidate({ type: 'host', address: { host: '2001:DB8::2', port: 6084 }, base: 'host' });

const remote = (host: string, port: number, type: RemoteCandidate['type'], foundation: string, priority = candidatePriority(type)): RemoteCandidate => ({ type, address: { host, port }, priority, foundation });
const R_HOST = remote('198.51.100.20', 6084, 'host', 'rh');
const R_SRFLX = remote('203.0.113.2', 40_001, 'srflx', 'rs');
const R_HOST6 = remote('2001:db8::3', 6084, 'host', 'rh6');

const baseOf = (c: LocalCandidate): LocalCandidate => (c === SRFLX ? HOST : c);

describe('ICE candidates (RFC 8445 §5.1)', () => {
  test('priorities: type preference, local preference, component (§5.1.2.1)', () => {
    assert.equal(candidatePriority('host'), 2_130_706_431); // 126·2^24 + 65535·2^8 + 255
    assert.equal(candidatePriority('prflx'), 1_862_270_975);
    assert.equal(candidatePriority('srflx'), 1_694_498_815);
    assert.equal(candidatePriority('relay'), 16_777_215);
    assert.equal(candidatePriority('host', 0), 126 * 2 ** 24 + 255);
    assert.equal(candidatePriority('host', 65_535, 2), 2_130_706_430);
    assert.equal(peerReflexivePriority(candidatePriority('host', 1000)), candidatePriority('prflx', 1000));
    assert.equal(peerReflexivePriority(RELAY.priority), candidatePriority('prflx'));
    assert.throws(() => candidatePriority('host', 70_000), IceError);
    assert.equal(HOST.priority, candidatePriority('host'));
    assert.equal(SRFLX.priority, candidatePriority('srflx'));
  });

  test('pair priority 2^32·MIN(G,D) + 2·MAX(G,D) + (G>D) (§6.1.2.3) is the same number on both sides', () => {
    const g = candidatePriority('host');
    const d = candidatePriority('srflx');
    assert.equal(pairPriority(g, d), (BigInt(d) << 32n) + 2n * BigInt(g) + 1n);
    assert.equal(pairPriority(d, g), (BigInt(d) << 32n) + 2n * BigInt(g));
    assert.ok(pairPriority(g, g) > pairPriority(g, d));
  });

  test('foundations: same type, base IP, server and transport share one (§5.1.1.3)', () => {
    assert.equal(computeFoundation('host', '10.0.0.2'), computeFoundation('host', '10.0.0.2'));
    assert.notEqual(computeFoundation('host', '10.0.0.2'), computeFoundation('host', '10.0.0.3'));
    assert.notEqual(computeFoundation('host', '10.0.0.2'), computeFoundation('srflx', '10.0.0.2'));
    assert.notEqual(computeFoundation('srflx', '10.0.0.2', '192.0.2.1'), computeFoundation('srflx', '10.0.0.2', '192.0.2.2'));
    assert.notEqual(computeFoundation('host', '10.0.0.2', undefined, 'udp'), computeFoundation('host', '10.0.0.2', undefined, 'tcp'));
    assert.equal(computeFoundation('host', '2001:DB8::2'), computeFoundation('host', '2001:db8:0::2'), 'canonical IPs');
    assert.match(SRFLX.foundation, /^[A-Za-z0-9+/]{1,32}$/);
    // two host candidates on two ports of one IP share their foundation (ports do not count)
    const other = makeLocalCandidate({ type: 'host', address: { host: '10.0.0.2', port: 7000 }, base: 'b2' });
    assert.equal(other.foundation, HOST.foundation);
  });

  test('local candidates: bases, canonical addresses, refusals', () => {
    assert.deepEqual(SRFLX.baseAddress, { host: '10.0.0.2', port: 6084 });
    assert.deepEqual(RELAY.baseAddress, RELAY.address);
    assert.equal(HOST6.address.host, '2001:db8::2');
    assert.throws(() => makeLocalCandidate({ type: 'host', address: { host: 'example.com', port: 1 }, base: 'host' }), (e: unknown) => e instanceof IceError && e.code === 'ICE_BAD_CANDIDATE');
    assert.throws(() => makeLocalCandidate({ type: 'host', address: { host: '10.0.0.2', port: 0 }, base: 'host' }), /port 0/);
    assert.throws(() => makeLocalCandidate({ type: 'srflx', address: { host: '203.0.113.1', port: 1 }, base: 'host' }), /no base address/);
    assert.throws(() => makeLocalCandidate({ type: 'host', address: { host: '10.0.0.2', port: 1 }, base: '' }), /no base id/);
  });

  test('redundant local candidates (same address and base) keep the higher priority (§5.1.3)', () => {
    const low = makeLocalCandidate({ type: 'host', address: { host: '10.0.0.2', port: 6084 }, base: 'host', localPreference: 10 });
    const kept = eliminateRedundant([low, SRFLX, HOST]);
    assert.deepEqual(kept, [HOST, SRFLX]);
  });

  test('credentials: ice-chars and lengths (§5.3); generated ones pass', () => {
    const r = new SeededRandom(7);
    const c = generateCredentials(r);
    assert.equal(c.ufrag.length, 8);
    assert.equal(c.password.length, 24);
    checkCredentials(c.ufrag, c.password, 'local');
    assert.throws(() => checkCredentials('abc', c.password, 'x'), (e: unknown) => e instanceof IceError && e.code === 'ICE_BAD_CREDENTIALS');
    assert.throws(() => checkCredentials('abcd', 'short', 'x'), /password/);
    assert.throws(() => checkCredentials('ab:d', c.password, 'x'), /ufrag/);
    assert.equal(typeof generateTieBreaker(r), 'bigint');
  });
});

describe('ICE check list (RFC 8445 §6.1.2–§6.1.4)', () => {
  test('pairs by family, srflx replaced by its base and pruned, sorted by priority (§6.1.2.2–§6.1.2.4)', () => {
    const l = new CheckList(100);
    l.form([HOST, SRFLX, RELAY, HOST6], [R_HOST, R_SRFLX, R_HOST6], true, baseOf);
    const pairs = l.pairs();
    assert.equal(pairs.length, 5, '2 host + 2 relay IPv4 pairs, 1 IPv6 pair; the srflx ones were the host ones');
    assert.ok(pairs.every((p) => p.local.type !== 'srflx'));
    assert.ok(pairs.every((p) => (p.local.address.host.includes(':') ? 6 : 4) === (p.remote.address.host.includes(':') ? 6 : 4)));
    for (let i = 1; i < pairs.length; i++) assert.ok(pairs[i - 1]!.priority >= pairs[i]!.priority);
    assert.equal(pairs[0]!.priority, pairPriority(HOST.priority, R_HOST.priority));
    assert.equal(pairs.at(-1)!.local, RELAY);
  });

  test('the pair limit keeps the best pairs (§6.1.2.5); one Waiting pair per foundation (§6.1.2.6)', () => {
    const l = new CheckList(3);
    const same = [remote('198.51.100.20', 1, 'host', 'f'), remote('198.51.100.20', 2, 'host', 'f', 1000), remote('198.51.100.21', 3, 'srflx', 'g')];
    l.form([HOST, RELAY], same, true, baseOf);
    assert.deepEqual(
      l.pairs().map((p) => `${p.local.type}-${p.remote.address.port}:${p.state}`),
      ['host-1:waiting', 'host-3:waiting', 'relay-1:waiting'],
      'of 6 pairs the 3 best stay; those with the priority-1000 remote candidate were the lowest',
    );
    const m = new CheckList(100);
    m.form([HOST], same, true, baseOf);
    assert.deepEqual(
      m.pairs().map((p) => `${p.remote.address.port}:${p.state}`),
      ['1:waiting', '3:waiting', '2:frozen'],
    );
  });

  test('scheduling: triggered queue first, then the best Waiting pair, then unfreezing a free foundation (§6.1.4.2)', () => {
    const l = new CheckList(100);
    const a = remote('198.51.100.20', 1, 'host', 'f');
    const b = remote('198.51.100.20', 2, 'host', 'f', 1000);
    const c = remote('198.51.100.21', 3, 'host', 'g', 500);
    l.form([HOST], [a, b, c], true, baseOf);
    const pa = l.get(HOST, a)!;
    const pb = l.get(HOST, b)!;
    const pc = l.get(HOST, c)!;
    assert.equal(pb.state, 'frozen');
    l.trigger(pc);
    assert.equal(l.next(), pc, 'the triggered pair goes first');
    l.setState(pc, 'in-progress');
    assert.equal(l.next(), pa);
    l.setState(pa, 'in-progress');
    assert.equal(l.next(), undefined, 'b stays frozen while its foundation is in progress');
    l.setState(pa, 'failed');
    assert.equal(l.next(), pb, 'unfrozen once the foundation is free');
    l.setState(pb, 'in-progress');
    l.setState(pb, 'succeeded');
    assert.throws(() => l.setState(pb, 'failed'), IllegalPairTransition);
    assert.throws(() => l.setState(pa, 'succeeded'), IllegalPairTransition);
    assert.equal(l.allFailed(), false);
  });

  test('a success unfreezes its foundation (§7.2.5.3.3); conclude() keeps only settled pairs', () => {
    const l = new CheckList(100);
    const a = remote('198.51.100.20', 1, 'host', 'f');
    const b = remote('198.51.100.20', 2, 'host', 'f', 1000);
    l.form([HOST], [a, b], true, baseOf);
    const pa = l.get(HOST, a)!;
    l.setState(pa, 'in-progress');
    l.setState(pa, 'succeeded');
    l.unfreezeFoundation(pa.foundation);
    assert.equal(l.get(HOST, b)!.state, 'waiting');
    l.conclude();
    assert.deepEqual(l.pairs(), [pa]);
  });

  test('a role change recomputes priorities with G and D swapped', () => {
    const l = new CheckList(100);
    l.form([SRFLX], [R_HOST], true, baseOf);
    const p = l.pairs()[0]!;
    assert.equal(p.priority, pairPriority(HOST.priority, R_HOST.priority));
    l.reprioritize(false);
    assert.equal(p.priority, pairPriority(R_HOST.priority, HOST.priority));
  });

  test('add() for triggered checks respects the limit', () => {
    const l = new CheckList(1);
    l.form([HOST], [R_HOST], true, baseOf);
    assert.equal(l.add(HOST, R_SRFLX, true), undefined);
    assert.equal(l.add(HOST, R_HOST, true), l.pairs()[0]);
  });
});

describe('ICE candidate set', () => {
  test('peer-reflexive candidates are learned up to the limit; made-up mapped addresses are refused', () => {
    const s = new IceCandidateSet([{ type: 'host', address: { host: '10.0.0.2', port: 6084 }, base: 'host' }], 2);
    assert.equal(s.remoteAt({ host: '198.51.100.9', port: 1 }, 5)?.learned, true);
    assert.equal(s.remoteAt({ host: '198.51.100.9', port: 1 }, 5)?.learned, false);
    assert.equal(s.remoteAt({ host: '198.51.100.9', port: 2 }, 5)?.learned, true);
    assert.equal(s.remoteAt({ host: '198.51.100.9', port: 3 }, 5), undefined);
    const host = s.signalled[0]!;
    assert.equal(s.localAt({ host: '203.0.113.9', port: 0 }, host, 7), undefined, 'port 0');
    assert.equal(s.localAt({ host: '2001:db8::1', port: 5 }, host, 7), undefined, 'another family');
    const p = s.localAt({ host: '203.0.113.9', port: 5 }, host, 7)!;
    assert.equal(p.learned, true);
    assert.equal(p.candidate.type, 'prflx');
    assert.equal(p.candidate.base, 'host');
    assert.equal(p.candidate.priority, 7);
  });

  test('a srflx candidate given without its host candidate gets a base made up from its related address', () => {
    const s = new IceCandidateSet([{ type: 'srflx', address: { host: '203.0.113.1', port: 40_000 }, base: 'host', related: { host: '10.0.0.2', port: 6084 } }], 2);
    const b = s.baseOf(s.signalled[0]!);
    assert.equal(b.type, 'host');
    assert.deepEqual(b.address, { host: '10.0.0.2', port: 6084 });
    assert.equal(s.baseFor('host', { host: '198.51.100.1', port: 1 }, undefined), b);
    assert.equal(s.baseFor('host', { host: '2001:db8::1', port: 1 }, undefined), undefined);
  });
});
