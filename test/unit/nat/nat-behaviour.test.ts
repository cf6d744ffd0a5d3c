import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { addressScope, isPublicAddress } from '../../../src/nat/address-scope.js';
import { addressKey } from '../../../src/nat/datagram-socket.js';
import type { UdpAddress } from '../../../src/nat/datagram-socket.js';
import { discoverNatBehaviour } from '../../../src/nat/nat-behaviour.js';
import type { NatBehaviourOptions, NatBehaviourReport, NatProbe, UnsolicitedTest } from '../../../src/nat/nat-behaviour.js';

type Model = 'none' | 'full-cone' | 'address-restricted' | 'port-restricted' | 'symmetric' | 'udp-blocked';

const ep = (host: string, port: number): UdpAddress => ({ host, port });

/**
 * A NAT (RFC 4787 terms) between our socket and peers that are STUN servers (binding-server.ts:
 * one IP, maybe an alternate port). Mapping: one public port for all (EIM), or one per destination
 * (symmetric: address-and-port-dependent). Filtering: what the model says, per public port.
 */
class FakeNat {
  private nextPort = 40000;
  /** mapping key → public port */
  private readonly mappings = new Map<string, number>();
  /** public port → remote addresses / IPs we sent to through it */
  private readonly sent = new Map<number, { keys: Set<string>; ips: Set<string> }>();
  readonly log: string[] = [];

  constructor(
    readonly model: Model,
    readonly local: UdpAddress,
    readonly publicIp: string,
    /** With model 'none': a stateful firewall that filters address-and-port-dependently. */
    readonly firewall = false,
  ) {}

  /** Our datagram to `to` leaves as (mapped address). */
  outbound(to: UdpAddress): UdpAddress {
    if (this.model === 'none') {
      this.note(this.local.port, to);
      return this.local;
    }
    const key = this.model === 'symmetric' ? addressKey(to) : '*';
    let port = this.mappings.get(key);
    if (port === undefined) {
      port = this.nextPort++;
      this.mappings.set(key, port);
    }
    this.note(port, to);
    return ep(this.publicIp, port);
  }

  /** Does a datagram from `from` to our (mapped) address `to` get in? */
  inbound(from: UdpAddress, to: UdpAddress): boolean {
    const s = this.sent.get(to.port);
    if (this.model === 'none') {
      if (to.host !== this.local.host || to.port !== this.local.port) return false;
      return !this.firewall || (s?.keys.has(addressKey(from)) ?? false);
    }
    if (to.host !== this.publicIp || s === undefined) return false;
    if (this.model === 'full-cone') return true;
    if (this.model === 'address-restricted') return s.ips.has(from.host);
    return s.keys.has(addressKey(from));
  }

  private note(port: number, to: UdpAddress): void {
    let s = this.sent.get(port);
    if (s === undefined) {
      s = { keys: new Set(), ips: new Set() };
      this.sent.set(port, s);
    }
    s.keys.add(addressKey(to));
    s.ips.add(to.host);
  }
}

interface FakeServer {
  primary: UdpAddress;
  alternate?: UdpAddress;
}

const A: FakeServer = { primary: ep('203.0.113.10', 6084), alternate: ep('203.0.113.10', 6085) };
const B: FakeServer = { primary: ep('198.51.100.20', 6084), alternate: ep('198.51.100.20', 6085) };
const C: FakeServer = { primary: ep('192.0.2.30', 6084) };
const HELPERS = [ep('203.0.113.10', 7000), ep('192.0.2.77', 6084)];

/** The probe and unsolicited test over a FakeNat; an unanswered probe never resolves (the guard times it out). */
function world(nat: FakeNat, servers: FakeServer[], opts: { helpers?: UdpAddress[] | false } = {}) {
  const probeLog: string[] = [];
  const probe: NatProbe = (server, { changePort }) => {
    probeLog.push(`${addressKey(server)}${changePort ? ' change-port' : ''}`);
    const srv = servers.find((s) => addressKey(s.primary) === addressKey(server) || (s.alternate && addressKey(s.alternate) === addressKey(server)));
    if (nat.model === 'udp-blocked' || srv === undefined) return new Promise(() => undefined);
    const mapped = nat.outbound(server);
    const isAlt = srv.alternate !== undefined && addressKey(srv.alternate) === addressKey(server);
    let origin = server;
    if (changePort) {
      if (srv.alternate === undefined) return new Promise(() => undefined); // 420: no success answer
      origin = isAlt ? srv.primary : srv.alternate;
    }
    if (!nat.inbound(origin, mapped)) return new Promise(() => undefined);
    const other = srv.alternate === undefined ? undefined : isAlt ? srv.primary : srv.alternate;
    return Promise.resolve({ mapped, responseOrigin: origin, ...(other === undefined ? {} : { otherAddress: other }) });
  };
  const helpers = opts.helpers === false ? undefined : (opts.helpers ?? HELPERS);
  const unsolicited: UnsolicitedTest | undefined =
    helpers === undefined
      ? undefined
      : (target, contacted) => {
          // the owner's choice: a helper at an IP we did not contact, else any
          const h = helpers.find((x) => !contacted.some((c) => c.host === x.host)) ?? helpers[0];
          if (h === undefined) return Promise.resolve(undefined);
          return Promise.resolve({ reached: nat.model !== 'udp-blocked' && nat.inbound(h, target), helper: h });
        };
  return { probe, unsolicited, probeLog };
}

async function run(nat: FakeNat, servers: FakeServer[], opts: { helpers?: UdpAddress[] | false; options?: Partial<NatBehaviourOptions> } = {}): Promise<{ report: NatBehaviourReport; elapsed: number; probeLog: string[] }> {
  const clock = new ManualClock(1000);
  const w = world(nat, servers, opts);
  const p = discoverNatBehaviour({ clock, probe: w.probe, ...(w.unsolicited === undefined ? {} : { unsolicited: w.unsolicited }) }, servers.map((s) => s.primary), [nat.local], opts.options);
  let report: NatBehaviourReport | undefined;
  void p.then((r) => (report = r));
  for (let i = 0; i < 1000 && report === undefined; i++) {
    await new Promise((r) => setImmediate(r));
    if (report === undefined) clock.advance(50);
  }
  assert.ok(report !== undefined, 'discovery did not finish');
  return { report, elapsed: clock.now() - 1000, probeLog: w.probeLog };
}

const LAN = ep('192.168.1.20', 6084);
const WAN = '203.0.113.200';
const ALL3 = [A, B, C];

describe('NAT behaviour discovery (RFC 5780 §4.3, §4.4) against peers', () => {
  test('full cone: endpoint-independent mapping and filtering; role nat', async () => {
    const { report } = await run(new FakeNat('full-cone', LAN, WAN), ALL3);
    assert.equal(report.role, 'nat');
    assert.equal(report.natted, true);
    assert.equal(report.mapping, 'endpoint-independent');
    assert.equal(report.filtering, 'endpoint-independent');
    assert.equal(report.confidence, 'high');
    assert.equal(report.mappedAddress?.host, WAN);
    assert.ok(report.evidence.some((e) => e.test === 'unsolicited' && e.answered));
  });

  test('address-restricted cone: endpoint-independent mapping, address-dependent filtering', async () => {
    const { report } = await run(new FakeNat('address-restricted', LAN, WAN), ALL3);
    assert.equal(report.role, 'nat');
    assert.equal(report.mapping, 'endpoint-independent');
    assert.equal(report.filtering, 'address-dependent');
  });

  test('port-restricted cone: endpoint-independent mapping, address-and-port-dependent filtering', async () => {
    const { report } = await run(new FakeNat('port-restricted', LAN, WAN), ALL3);
    assert.equal(report.role, 'nat');
    assert.equal(report.natted, true);
    assert.equal(report.mapping, 'endpoint-independent');
    assert.equal(report.filtering, 'address-and-port-dependent');
    assert.ok(report.evidence.some((e) => e.test === 'change-port' && !e.answered));
  });

  test('symmetric: address-and-port-dependent mapping and filtering (alternate-port probe)', async () => {
    const { report, probeLog } = await run(new FakeNat('symmetric', LAN, WAN), ALL3);
    assert.equal(report.role, 'nat');
    assert.equal(report.mapping, 'address-and-port-dependent');
    assert.equal(report.filtering, 'address-and-port-dependent');
    assert.ok(report.evidence.some((e) => e.test === 'alternate-port' && e.answered));
    // the change-port test ran before the alternate port was contacted (else its filter is open)
    const cp = probeLog.indexOf('203.0.113.10:6084 change-port');
    const alt = probeLog.indexOf('203.0.113.10:6085');
    assert.ok(cp >= 0 && alt > cp, probeLog.join(', '));
  });

  test('UDP blocked: no-udp, bounded probes and time', async () => {
    const { report, elapsed } = await run(new FakeNat('udp-blocked', LAN, WAN), ALL3);
    assert.equal(report.role, 'no-udp');
    assert.equal(report.confidence, 'high');
    assert.equal(report.natted, undefined);
    assert.equal(report.probes, 3);
    assert.ok(report.evidence.every((e) => !e.answered));
    // three probes at once, each given up after its timeout + grace
    assert.ok(elapsed <= 2600, `took ${elapsed} ms`);
  });

  test('no NAT, public address, open: role public (may offer TURN), high confidence', async () => {
    const host = ep('203.0.113.50', 6084);
    const { report } = await run(new FakeNat('none', host, host.host), ALL3);
    assert.equal(report.role, 'public');
    assert.equal(report.natted, false);
    assert.equal(report.publicAddress, true);
    assert.equal(report.mapping, 'endpoint-independent');
    assert.equal(report.filtering, 'endpoint-independent');
    assert.equal(report.confidence, 'high');
    assert.deepEqual(report.mappedAddress, host);
  });

  test('no NAT but RFC 1918 address: not a TURN candidate (role nat)', async () => {
    const host = ep('10.0.0.5', 6084);
    const { report } = await run(new FakeNat('none', host, host.host), ALL3);
    assert.equal(report.natted, false);
    assert.equal(report.publicAddress, false);
    assert.equal(report.role, 'nat');
    assert.match(report.reason, /private/);
  });

  test('no NAT but a filtering firewall: role nat', async () => {
    const host = ep('198.51.100.60', 6084);
    const { report } = await run(new FakeNat('none', host, host.host, true), ALL3);
    assert.equal(report.natted, false);
    assert.equal(report.filtering, 'address-and-port-dependent');
    assert.equal(report.role, 'nat');
    assert.match(report.reason, /firewall/);
  });

  test('without the unsolicited test, full cone filtering is narrowed by change-port only', async () => {
    const { report } = await run(new FakeNat('full-cone', LAN, WAN), ALL3, { helpers: false });
    assert.equal(report.mapping, 'endpoint-independent');
    assert.equal(report.filtering, 'unknown');
    assert.deepEqual(report.filteringPossible, ['endpoint-independent', 'address-dependent']);
    assert.equal(report.role, 'nat');
  });

  test('no NAT, public, nothing to test filtering with: public (RFC 6940 §9 rule), lower confidence', async () => {
    const host = ep('203.0.113.50', 6084);
    const { report } = await run(new FakeNat('none', host, host.host), [C], { helpers: false });
    assert.equal(report.role, 'public');
    assert.equal(report.filtering, 'unknown');
    assert.equal(report.confidence, 'low');
  });

  test('one server IP with an alternate port: symmetric found, full cone left open between EIM and ADM', async () => {
    const sym = await run(new FakeNat('symmetric', LAN, WAN), [A]);
    assert.equal(sym.report.mapping, 'address-and-port-dependent');
    const cone = await run(new FakeNat('full-cone', LAN, WAN), [A], { helpers: [ep('192.0.2.77', 6084)] });
    assert.equal(cone.report.mapping, 'unknown');
    assert.deepEqual(cone.report.mappingPossible, ['endpoint-independent', 'address-dependent']);
    assert.equal(cone.report.filtering, 'endpoint-independent');
  });

  test('a dead server is passed over; ourselves and other address families are never asked', async () => {
    const dead = ep('198.51.100.99', 6084);
    const nat = new FakeNat('port-restricted', LAN, WAN);
    const clock = new ManualClock(0);
    const w = world(nat, [A, B]);
    const p = discoverNatBehaviour({ clock, probe: w.probe }, [LAN, ep('2001:db8::1', 6084), dead, A.primary, B.primary], [LAN]);
    let report: NatBehaviourReport | undefined;
    void p.then((r) => (report = r));
    for (let i = 0; i < 1000 && report === undefined; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(50);
    }
    assert.ok(report !== undefined);
    assert.equal(report.mapping, 'endpoint-independent');
    assert.ok(!w.probeLog.some((l) => l.startsWith('192.168.1.20') || l.includes('2001:db8')), w.probeLog.join(', '));
    assert.ok(report.probes <= 6);
  });

  test('a helper at an address we sent to proves nothing', async () => {
    const { report } = await run(new FakeNat('port-restricted', LAN, WAN), ALL3, { helpers: [A.primary] });
    const u = report.evidence.find((e) => e.test === 'unsolicited');
    assert.match(u?.note ?? '', /inconclusive/);
    assert.equal(report.filtering, 'address-and-port-dependent');
  });
});

describe('address scope (RFC 6940 §9 "private address space")', () => {
  test('private, shared, loopback, link-local and reserved ranges are not public', () => {
    const cases: Array<[string, string]> = [
      ['10.1.2.3', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.0.1', 'private'],
      ['100.64.0.1', 'shared'],
      ['100.127.255.254', 'shared'],
      ['127.0.0.1', 'loopback'],
      ['169.254.1.1', 'link-local'],
      ['0.0.0.0', 'unspecified'],
      ['224.0.0.1', 'multicast'],
      ['255.255.255.255', 'reserved'],
      ['192.0.0.8', 'reserved'],
      ['198.18.0.1', 'reserved'],
      ['::1', 'loopback'],
      ['::', 'unspecified'],
      ['fe80::1', 'link-local'],
      ['fd00::1', 'unique-local'],
      ['ff02::1', 'multicast'],
      ['::ffff:10.0.0.1', 'private'],
      ['example.com', 'not-an-ip'],
    ];
    for (const [host, scope] of cases) assert.equal(addressScope(host), scope, host);
  });

  test('documentation ranges count as public (the NAT lab\'s Internet), as do ordinary addresses', () => {
    for (const host of ['192.0.2.1', '198.51.100.7', '203.0.113.9', '2001:db8::5', '8.8.8.8', '172.32.0.1', '100.128.0.1', '[2606:4700::1111]', '::ffff:203.0.113.1']) {
      assert.ok(isPublicAddress(host), host);
    }
  });
});
