/**
 * Issue 12, bad input on the overlay UDP port (NatPort, sans-I/O, ManualClock): a flood of
 * unauthenticated Binding requests gets at most `bindingBurst + bindingRatePerS·t` answers per source
 * network, the table of sources stays bounded, other sources, ICE checks and TURN are not affected;
 * malformed STUN and checks for no session are dropped and counted.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../src/lib/random.js';
import type { DatagramSocket, UdpAddress } from '../../../src/nat/datagram-socket.js';
import { DEFAULT_NAT_PORT_LIMITS, NatPort } from '../../../src/nat/nat-port.js';
import type { NatPortLimits, StunSession, TurnServerSide } from '../../../src/nat/nat-port.js';
import { SourceRateLimiter } from '../../../src/nat/source-rate-limiter.js';
import { StunAttr, StunMethod, decodeStun, encodeStun, shortTermKey, textAttr } from '../../../src/nat/stun/stun-message.js';

const LOCAL: UdpAddress = { host: '203.0.113.5', port: 6084 };

class CountingSocket implements DatagramSocket {
  readonly local = LOCAL;
  sent = 0;
  readonly to = new Map<string, number>();
  send(_d: Uint8Array, to: UdpAddress): void {
    this.sent++;
    this.to.set(to.host, (this.to.get(to.host) ?? 0) + 1);
  }
}

function world(limits: Partial<NatPortLimits> = {}): { clock: ManualClock; socket: CountingSocket; port: NatPort } {
  const clock = new ManualClock(1_000);
  const socket = new CountingSocket();
  const port = new NatPort({ socket, clock, random: new SeededRandom(7) }, { software: 'p2psip', limits });
  return { clock, socket, port };
}

const random = new SeededRandom(99);
function binding(attrs: Parameters<typeof encodeStun>[0]['attributes'] = [], cls: 'request' | 'indication' = 'request', integrityKey?: Uint8Array): Uint8Array {
  return encodeStun({ method: StunMethod.Binding, cls, transactionId: random.bytes(12), attributes: attrs }, { fingerprint: true, ...(integrityKey === undefined ? {} : { integrityKey }) });
}

describe('NatPort: Binding flood', () => {
  test('defaults are explicit', () => {
    assert.deepEqual({ ...DEFAULT_NAT_PORT_LIMITS }, { maxSessions: 512, maxFlows: 1024, bindingRatePerS: 50, bindingBurst: 100, bindingSources: 4096 });
  });

  test('100,000 requests from one IP over 10 s: at most burst + rate·t answered, the rest counted; another IP still answered', () => {
    const { clock, socket, port } = world();
    const req = binding();
    const start = clock.now();
    let otherAnswered = 0;
    for (let i = 0; i < 100_000; i++) {
      port.receive(req, { host: '192.0.2.66', port: 1024 + (i % 60_000) }); // ports change, the IP does not
      clock.advance(0.1);
      if (i % 10_000 === 0) {
        const before = socket.to.get('198.51.100.7') ?? 0;
        port.receive(binding(), { host: '198.51.100.7', port: 5000 });
        if ((socket.to.get('198.51.100.7') ?? 0) === before + 1) otherAnswered++;
      }
    }
    const seconds = (clock.now() - start) / 1000;
    const limit = DEFAULT_NAT_PORT_LIMITS.bindingBurst + DEFAULT_NAT_PORT_LIMITS.bindingRatePerS * seconds;
    const flooder = socket.to.get('192.0.2.66') ?? 0;
    assert.ok(flooder <= limit, `${flooder} answers > ${limit}`);
    assert.ok(flooder >= limit - 2, `the rate is given, not less: ${flooder} of ${limit}`);
    assert.equal(otherAnswered, 10, 'the other source got every answer');
    const c = port.counters();
    assert.equal(c.bindingAnswered, flooder + otherAnswered);
    assert.equal(c.bindingRateLimited, 100_000 - flooder);
    assert.equal(c.bindingSources, 2);
    // a rate, not a ban: after a quiet second the source has 50 answers again
    clock.advance(1_000);
    const before = socket.sent;
    for (let i = 0; i < 200; i++) port.receive(req, { host: '192.0.2.66', port: 4000 });
    const again = socket.sent - before;
    assert.ok(again >= 50 && again <= 51, `${again} answers after a quiet second (50, plus the fraction of a token left)`);
  });

  test('IPv6 sources are counted per /64; another /64 has its own bucket', () => {
    const { socket, port } = world();
    for (let i = 1; i <= 1_000; i++) port.receive(binding(), { host: `2001:db8:1:2::${i.toString(16)}`, port: 5000 });
    for (let i = 1; i <= 10; i++) port.receive(binding(), { host: `::ffff:192.0.2.${i}`, port: 5000 });
    const v6 = [...socket.to.entries()].filter(([h]) => h.startsWith('2001:db8:1:2:')).reduce((n, [, v]) => n + v, 0);
    assert.equal(v6, 100, 'one /64 gets one burst');
    port.receive(binding(), { host: '2001:db8:1:3::1', port: 5000 });
    assert.equal(socket.to.get('2001:db8:1:3::1'), 1);
    assert.equal(port.counters().bindingSources, 12);
  });

  test('the table of sources stays bounded: 100,000 sources → at most 4,096 remembered, each new one answered', () => {
    const { socket, port } = world();
    for (let i = 0; i < 100_000; i++) port.receive(binding(), { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 7000 });
    assert.equal(socket.sent, 100_000);
    assert.equal(port.counters().bindingSources, 4096);
    assert.equal(port.counters().bindingRateLimited, 0);
  });

  test('least recently heard is forgotten first: a busy flooder keeps its empty bucket while others churn', () => {
    const { socket, port } = world({ bindingSources: 64 });
    const req = binding();
    for (let i = 0; i < 150; i++) port.receive(req, { host: '192.0.2.66', port: 1 });
    assert.equal(socket.to.get('192.0.2.66'), 100);
    for (let i = 0; i < 10_000; i++) {
      port.receive(binding(), { host: `10.0.${(i >> 8) & 255}.${i & 255}`, port: 7000 });
      if (i % 32 === 0) port.receive(req, { host: '192.0.2.66', port: 1 }); // heard more recently than 32 others
    }
    assert.equal(socket.to.get('192.0.2.66'), 100, 'still limited: its bucket was never forgotten');
    assert.equal(port.counters().bindingSources, 64);
  });

  test('ICE checks (USERNAME) and TURN are not rate limited; checks for no session are counted unclaimed', () => {
    const { socket, port } = world();
    let checks = 0;
    const session: StunSession = { receive: () => (checks++, true), ownsTransaction: () => false };
    assert.ok(port.addSession('abcd', session));
    let turn = 0;
    const server: TurnServerSide = { receiveFromClient: () => (turn++, true) };
    port.setTurnServer(server);
    const from = { host: '192.0.2.66', port: 1 };
    for (let i = 0; i < 200; i++) port.receive(binding(), from); // exhausts the Binding bucket
    const key = shortTermKey('not-the-password-at-all');
    for (let i = 0; i < 10_000; i++) port.receive(binding([textAttr(StunAttr.USERNAME, 'abcd:efgh')], 'request', key), from);
    for (let i = 0; i < 1_000; i++) port.receive(binding([textAttr(StunAttr.USERNAME, 'nobody:efgh')], 'request', key), from);
    const allocate = encodeStun({ method: StunMethod.Allocate, cls: 'request', transactionId: random.bytes(12), attributes: [] });
    for (let i = 0; i < 10_000; i++) port.receive(allocate, from);
    assert.equal(checks, 10_000, 'every check reaches its session (which answers them: 401 for bad integrity)');
    assert.equal(turn, 10_000, 'every TURN request reaches the TURN server');
    const c = port.counters();
    assert.equal(c.stunUnclaimed, 1_000, 'checks for an unknown ufrag are dropped and counted');
    assert.equal(c.bindingRateLimited, 100);
    assert.equal(socket.sent, 100, 'NatPort itself answered only the Binding burst');
  });

  test('indications and integrity without USERNAME take no token', () => {
    const { socket, port } = world({ bindingBurst: 1, bindingRatePerS: 1 });
    const from = { host: '192.0.2.66', port: 1 };
    for (let i = 0; i < 100; i++) port.receive(binding([], 'indication'), from);
    for (let i = 0; i < 100; i++) port.receive(binding([], 'request', shortTermKey('some-password-1234')), from);
    assert.equal(port.counters().stunUnclaimed, 100);
    port.receive(binding(), from);
    assert.equal(socket.sent, 1);
    assert.equal(port.counters().bindingRateLimited, 0);
  });

  test('bindingRatePerS Infinity turns the limit off (nothing remembered)', () => {
    const { socket, port } = world({ bindingRatePerS: Infinity });
    for (let i = 0; i < 5_000; i++) port.receive(binding(), { host: '192.0.2.66', port: 1 });
    assert.equal(socket.sent, 5_000);
    assert.equal(port.counters().bindingSources, 0);
  });

  test('unusable limits are refused with the name of the limit', () => {
    const bad: Array<[Partial<NatPortLimits>, RegExp]> = [
      [{ bindingRatePerS: 0 }, /ratePerS/],
      [{ bindingRatePerS: Number.NaN }, /ratePerS/],
      [{ bindingBurst: 0.5 }, /burst/],
      [{ bindingBurst: Infinity }, /burst/],
      [{ bindingSources: 0 }, /maxSources/],
      [{ bindingSources: 1.5 }, /maxSources/],
      [{ maxSessions: -1 }, /maxSessions/],
      [{ maxFlows: Number.NaN }, /maxFlows/],
    ];
    for (const [limits, re] of bad) assert.throws(() => world(limits), (e: unknown) => e instanceof RangeError && re.test(e.message), JSON.stringify(limits));
    assert.throws(() => new SourceRateLimiter({ ratePerS: -5, burst: 1, maxSources: 1 }), RangeError);
  });
});

describe('NatPort: malformed STUN', () => {
  test('bad FINGERPRINT, truncated, bad length, attribute overrun → stunMalformed, no answer, the port keeps answering', () => {
    const { socket, port } = world();
    const from = { host: '192.0.2.1', port: 1 };
    const good = binding();
    const badFingerprint = good.slice();
    badFingerprint[badFingerprint.length - 1]! ^= 0xff;
    const truncated = good.subarray(0, 12);
    const wrongLength = good.slice();
    wrongLength[3] = 200;
    const overrun = encodeStun({ method: StunMethod.Binding, cls: 'request', transactionId: random.bytes(12), attributes: [textAttr(StunAttr.SOFTWARE, 'abcd')] });
    overrun[22] = 0;
    overrun[23] = 40; // SOFTWARE claims 40 bytes, 4 are there
    const tooManyAttrs = encodeStun({ method: StunMethod.Binding, cls: 'request', transactionId: random.bytes(12), attributes: Array.from({ length: 65 }, () => textAttr(StunAttr.PADDING, '')) });
    const noCookie = good.slice();
    noCookie[4] = 0;
    const cases = [badFingerprint, truncated, wrongLength, overrun, tooManyAttrs, noCookie];
    for (const c of cases) assert.equal(decodeStun(c).ok, false);
    for (let i = 0; i < 1_000; i++) for (const c of cases) port.receive(c, from);
    assert.equal(port.counters().stunMalformed, 6_000);
    assert.equal(socket.sent, 0);
    port.receive(good, from);
    assert.equal(socket.sent, 1);
  });

  test('random bytes with a STUN first byte never throw', () => {
    const { port } = world({ bindingRatePerS: Infinity });
    const r = new SeededRandom(5);
    for (let i = 0; i < 20_000; i++) {
      const len = r.u32() % 121;
      const d = r.bytes(len);
      if (len > 0) d[0] = d[0]! & 3;
      if (len >= 8 && i % 2 === 0) d.set([0x21, 0x12, 0xa4, 0x42], 4); // magic cookie: deeper into the decoder
      port.receive(d, { host: '192.0.2.1', port: 1 });
    }
    const c = port.counters();
    assert.ok(c.stunMalformed > 0);
  });
});
