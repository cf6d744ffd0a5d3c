import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { PeerCertificateError, TlsLinkDriver } from '../../../src/platform/tls-link-driver.js';
import type { TlsLinkDriverOptions } from '../../../src/platform/tls-link-driver.js';
import { SystemClock } from '../../../src/platform/system-clock.js';
import type { DriverLink, LinkDriverUser } from '../../../src/reload/link/link-driver.js';
import { LinkLayer } from '../../../src/reload/link/link-layer.js';
import type { LinkInfo, LinkLayerUser } from '../../../src/reload/link/link-layer.js';
import { certificateIdentities, createNodeCert, createTestCa, hex } from '../../support/test-pki.js';
import type { TestCa, TestNodeCert } from '../../support/test-pki.js';

const OVERLAY = 'test.p2psip';
const TIMEOUT = 15_000;

/** Collects driver events; `next(kind)` waits (bounded) for one. */
class Events implements LinkDriverUser {
  readonly log: Array<{ kind: string; id: string; link?: DriverLink; data?: Uint8Array; error?: Error }> = [];
  private waiters: Array<() => void> = [];
  onLinkOpened(link: DriverLink): void {
    this.push({ kind: 'opened', id: link.id, link });
  }
  onLinkFailed(id: string, error: Error): void {
    this.push({ kind: 'failed', id, error });
  }
  onLinkClosed(id: string, error: Error | undefined): void {
    this.push({ kind: 'closed', id, ...(error ? { error } : {}) });
  }
  onLinkData(id: string, data: Uint8Array): void {
    this.push({ kind: 'data', id, data: data.slice() });
  }
  private push(e: Events['log'][number]): void {
    this.log.push(e);
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  async until(pred: (log: Events['log']) => boolean, what: string, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred(this.log)) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(this.log.map((e) => [e.kind, e.id, e.error?.message]))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

let ca: TestCa;
let otherCa: TestCa;
let alice: TestNodeCert;
let bob: TestNodeCert;
let mallory: TestNodeCert; // issued by another CA

before(async () => {
  ca = await createTestCa();
  otherCa = await createTestCa('some other CA');
  alice = await createNodeCert(ca, { nodeId: new Uint8Array(16).fill(0xa1), overlay: OVERLAY });
  bob = await createNodeCert(ca, { nodeId: new Uint8Array(16).fill(0xb0), overlay: OVERLAY });
  mallory = await createNodeCert(otherCa, { nodeId: new Uint8Array(16).fill(0x66), overlay: OVERLAY });
});

const drivers: TlsLinkDriver[] = [];
function driver(node: TestNodeCert, extra: Partial<TlsLinkDriverOptions> = {}): { d: TlsLinkDriver; ev: Events } {
  const d = new TlsLinkDriver({ cert: node.certPem, key: node.keyPem, ca: ca.certPem, ...extra });
  const ev = new Events();
  d.setUser(ev);
  drivers.push(d);
  return { d, ev };
}
after(async () => {
  await Promise.all(drivers.map((d) => d.shutdown()));
});

describe('TlsLinkDriver (mutual TLS, RFC 6940 §6.6.5)', () => {
  test('mutual authentication with the overlay CA: both sides see the other certificate', { timeout: TIMEOUT }, async () => {
    const s = driver(bob);
    const c = driver(alice);
    const ep = await s.d.listen('127.0.0.1', 0);
    assert.equal(ep.host, '127.0.0.1');
    const id = c.d.connect(ep);
    await c.ev.until((l) => l.some((e) => e.kind === 'opened'), 'client open');
    await s.ev.until((l) => l.some((e) => e.kind === 'opened'), 'server open');
    const cl = c.ev.log.find((e) => e.kind === 'opened')!.link!;
    const sl = s.ev.log.find((e) => e.kind === 'opened')!.link!;
    assert.equal(cl.id, id);
    assert.equal(cl.outbound, true);
    assert.equal(sl.outbound, false);
    assert.deepEqual(cl.remote, ep);
    assert.deepEqual(certificateIdentities(cl.peerCertificate!).nodeIds, [hex(bob.nodeId)]);
    assert.deepEqual(certificateIdentities(sl.peerCertificate!).nodeIds, [hex(alice.nodeId)]);
    assert.deepEqual(certificateIdentities(sl.peerCertificate!).userNames, [alice.userName]);
    c.d.write(id, new Uint8Array([1, 2, 3]));
    await s.ev.until((l) => l.some((e) => e.kind === 'data'), 'data');
    assert.deepEqual([...s.ev.log.find((e) => e.kind === 'data')!.data!], [1, 2, 3]);
    c.d.close(id);
    await c.ev.until((l) => l.some((e) => e.kind === 'closed'), 'client closed');
    await s.ev.until((l) => l.some((e) => e.kind === 'closed'), 'server closed');
    assert.equal(c.ev.log.find((e) => e.kind === 'closed')!.error, undefined);
  });

  test('writes of one event-loop turn leave together; a close right after them still delivers them', { timeout: TIMEOUT }, async () => {
    const s = driver(bob);
    const c = driver(alice);
    const ep = await s.d.listen('127.0.0.1', 0);
    const id = c.d.connect(ep);
    await c.ev.until((l) => l.some((e) => e.kind === 'opened'), 'client open');
    await s.ev.until((l) => l.some((e) => e.kind === 'opened'), 'server open');
    for (let i = 0; i < 5; i++) c.d.write(id, new Uint8Array([i, i, i]));
    await s.ev.until((l) => l.filter((e) => e.kind === 'data').reduce((n, e) => n + e.data!.length, 0) >= 15, 'data');
    const chunks = s.ev.log.filter((e) => e.kind === 'data');
    assert.equal(chunks.length, 1, 'one TLS record, one read');
    assert.deepEqual([...chunks[0]!.data!], [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
    c.d.write(id, new Uint8Array([9]));
    c.d.close(id);
    await s.ev.until((l) => l.some((e) => e.kind === 'closed'), 'server closed');
    assert.deepEqual([...s.ev.log.filter((e) => e.kind === 'data').at(-1)!.data!], [9]);
  });

  test('a client whose certificate is not from the CA is refused by the server', { timeout: TIMEOUT }, async () => {
    const errors: string[] = [];
    const s = driver(bob, { onError: (ctx, e) => errors.push(`${ctx}: ${e.message}`) });
    const c = driver(mallory, { ca: [ca.certPem, otherCa.certPem] }); // mallory trusts bob
    const ep = await s.d.listen('127.0.0.1', 0);
    const id = c.d.connect(ep);
    // TLS 1.3: the client may finish its handshake before the server has judged its certificate; the
    // server's alert then closes the link at once (Node does not always surface the alert as an error).
    // TLS 1.2: the connect fails.
    await c.ev.until((l) => l.some((e) => e.id === id && (e.kind === 'failed' || e.kind === 'closed')), 'client refused');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.ev.log.filter((e) => e.kind === 'opened').length, 0, 'server never reports the link');
    assert.ok(errors.length >= 1, 'the server reports the refused handshake');
  });

  test('a server whose certificate is not from the CA is refused by the client (TLS 1.2 and 1.3)', { timeout: TIMEOUT }, async () => {
    for (const minVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const s = driver(mallory, { ca: [ca.certPem, otherCa.certPem], minVersion });
      const c = driver(alice, { minVersion });
      const ep = await s.d.listen('127.0.0.1', 0);
      const id = c.d.connect(ep);
      await c.ev.until((l) => l.some((e) => e.kind === 'failed'), 'client failed');
      const f = c.ev.log.find((e) => e.kind === 'failed')!;
      assert.equal(f.id, id);
      assert.match(f.error!.message, /certificate|self.signed|issuer/i);
      assert.equal(c.ev.log.filter((e) => e.kind === 'opened').length, 0);
    }
  });

  test('verifyPeer refuses (self-signed mode, no CA) and accepts', { timeout: TIMEOUT }, async () => {
    const selfA = await createNodeCert(undefined, { nodeId: new Uint8Array(16).fill(1), overlay: OVERLAY });
    const selfB = await createNodeCert(undefined, { nodeId: new Uint8Array(16).fill(2), overlay: OVERLAY });
    const expectNode = (want: Uint8Array) => (der: Uint8Array) =>
      certificateIdentities(der).nodeIds.includes(hex(want)) ? undefined : 'unexpected Node-ID';
    const mk = (n: TestNodeCert, verify: (der: Uint8Array) => string | undefined): { d: TlsLinkDriver; ev: Events } => {
      const d = new TlsLinkDriver({ cert: n.certPem, key: n.keyPem, verifyPeer: verify });
      const ev = new Events();
      d.setUser(ev);
      drivers.push(d);
      return { d, ev };
    };
    const s = mk(selfB, expectNode(selfA.nodeId));
    const ep = await s.d.listen('127.0.0.1', 0);
    const ok = mk(selfA, expectNode(selfB.nodeId));
    ok.d.connect(ep);
    await ok.ev.until((l) => l.some((e) => e.kind === 'opened'), 'self-signed link open');
    const bad = mk(selfA, () => 'not the peer I wanted');
    bad.d.connect(ep);
    await bad.ev.until((l) => l.some((e) => e.kind === 'failed'), 'refused by verifyPeer');
    const refused = bad.ev.log.find((e) => e.kind === 'failed')!.error!;
    assert.match(refused.message, /not the peer I wanted/);
    assert.equal((refused as PeerCertificateError).code, 'RELOAD_LINK_PEER_CERT');
    assert.throws(() => new TlsLinkDriver({ cert: selfA.certPem, key: selfA.keyPem }), TypeError);
  });

  test('connect to a closed port fails; a bad endpoint fails; no throw', { timeout: TIMEOUT }, async () => {
    const c = driver(alice);
    const s = driver(bob);
    const ep = await s.d.listen('127.0.0.1', 0);
    await s.d.shutdown();
    const id = c.d.connect(ep);
    const id2 = c.d.connect({ host: 'not-an-ip', port: 1 });
    await c.ev.until((l) => l.filter((e) => e.kind === 'failed').length === 2, 'both failed');
    assert.deepEqual(c.ev.log.map((e) => e.id).sort(), [id, id2].sort());
    c.d.write('nope', new Uint8Array(1));
    c.d.close('nope');
  });

  test('IPv6 loopback', { timeout: TIMEOUT }, async (t) => {
    const s = driver(bob);
    let ep;
    try {
      ep = await s.d.listen('::1', 0);
    } catch {
      t.skip('no IPv6 loopback');
      return;
    }
    assert.equal(ep.host, '::1');
    const c = driver(alice);
    c.d.connect(ep);
    await c.ev.until((l) => l.some((e) => e.kind === 'opened'), 'open over ::1');
    assert.equal(c.ev.log.find((e) => e.kind === 'opened')!.link!.remote.host, '::1');
  });

  test('onKeylog receives NSS key log lines of both ends', { timeout: TIMEOUT }, async () => {
    const lines: string[] = [];
    const s = driver(bob, { onKeylog: (l) => lines.push(l.toString()) });
    const c = driver(alice, { onKeylog: (l) => lines.push(l.toString()) });
    const ep = await s.d.listen('127.0.0.1', 0);
    c.d.connect(ep);
    await c.ev.until((l) => l.some((e) => e.kind === 'opened'), 'open');
    await s.ev.until((l) => l.some((e) => e.kind === 'opened'), 'open');
    assert.ok(lines.some((l) => /^(CLIENT_HANDSHAKE_TRAFFIC_SECRET|CLIENT_RANDOM) /.test(l)), 'key log lines');
  });
});

describe('LinkLayer over TLS', () => {
  test('messages both ways, framed and ACKed, RTT measured; close reported on both sides', { timeout: TIMEOUT }, async () => {
    const clock = new SystemClock();
    const got: Array<{ side: string; msg: number[] }> = [];
    const ups: LinkInfo[] = [];
    const downs: string[] = [];
    const user = (side: string): LinkLayerUser => ({
      onLinkUp: (l) => ups.push(l),
      onLinkMessage: (_id, m) => got.push({ side, msg: [...m] }),
      onLinkDown: (id, reason) => downs.push(`${side} ${id} ${reason}`),
    });
    const sd = driver(bob);
    const cd = driver(alice);
    const server = new LinkLayer({ driver: sd.d, clock });
    const client = new LinkLayer({ driver: cd.d, clock });
    server.setUser(user('server'));
    client.setUser(user('client'));
    const ep = await server.listen('127.0.0.1', 0);
    const id = client.connect(ep);
    await waitFor(() => ups.length === 2, 'both links up');
    const up = ups.find((u) => u.outbound)!;
    assert.equal(up.id, id);
    assert.deepEqual(certificateIdentities(up.peerCertificate!).nodeIds, [hex(bob.nodeId)]);
    const sid = ups.find((u) => !u.outbound)!.id;
    for (let i = 0; i < 50; i++) assert.ok(client.send(id, new Uint8Array(100).fill(i)));
    assert.ok(server.send(sid, new Uint8Array([42])));
    await waitFor(() => got.length === 51, 'all messages');
    await waitFor(() => client.stats(id)!.unacked === 0 && server.stats(sid)!.unacked === 0, 'all ACKed');
    assert.deepEqual(got.filter((g) => g.side === 'server').map((g) => g.msg[0]), Array.from({ length: 50 }, (_, i) => i));
    const st = client.stats(id)!;
    assert.equal(st.messagesOut, 50);
    assert.equal(st.acksIn, 50);
    assert.ok(st.srttMs !== undefined && st.srttMs >= 0);
    assert.equal(server.stats(sid)!.acksOut, 50);
    client.close(id);
    await waitFor(() => downs.length === 2, 'both down');
    assert.deepEqual(downs.sort(), [`client ${id} closed`, `server ${sid} closed`]);
    await client.shutdown();
    await server.shutdown();
  });
});

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('TlsLinkDriver listener limits (unauthenticated phase)', () => {
  /** Waits (bounded) until `pred` holds: the server's side of a close arrives an I/O turn after the client's. */
  async function until(pred: () => boolean, what: string): Promise<void> {
    const end = Date.now() + 5000;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** A raw TCP connection to the listener; resolves 'closed' when the server closes it, or 'open' after `ms`. */
  function rawConnection(port: number, firstBytes: Uint8Array | undefined, ms: number): Promise<'closed' | 'open'> {
    return new Promise((resolve) => {
      const s = netConnect(port, '127.0.0.1', () => {
        if (firstBytes !== undefined) s.write(firstBytes);
      });
      const t = setTimeout(() => {
        s.destroy();
        resolve('open');
      }, ms);
      s.on('error', () => undefined);
      s.on('close', () => {
        clearTimeout(t);
        resolve('closed');
      });
    });
  }

  test('a connection that sends no ClientHello, or only part of one, is closed at the handshake deadline', { timeout: TIMEOUT }, async () => {
    const { d } = driver(alice, { handshakeTimeoutMs: 300 });
    const ep = await d.listen('127.0.0.1', 0);
    const partialHello = new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00]);
    const [silent, partial] = await Promise.all([rawConnection(ep.port, undefined, 5000), rawConnection(ep.port, partialHello, 5000)]);
    assert.equal(silent, 'closed');
    assert.equal(partial, 'closed');
    await until(() => d.inboundConnections === 0, 'the listener to let both go');
  });

  test('inbound connections are capped per listener and per source address; a closed one frees its place', { timeout: TIMEOUT }, async () => {
    const { d } = driver(alice, { handshakeTimeoutMs: 10_000, maxInboundConnections: 3, maxInboundPerSource: 2 });
    const ep = await d.listen('127.0.0.1', 0);
    const held: Socket[] = [];
    const open = (): Promise<Socket> =>
      new Promise((resolve) => {
        const s = netConnect(ep.port, '127.0.0.1', () => resolve(s));
        s.on('error', () => undefined);
        held.push(s);
      });
    const closedSoon = (s: Socket): Promise<boolean> =>
      new Promise((resolve) => {
        if (s.destroyed) return resolve(true);
        const t = setTimeout(() => resolve(false), 2000);
        s.once('close', () => {
          clearTimeout(t);
          resolve(true);
        });
      });
    const a = await open();
    const b = await open();
    const c = await open(); // the third from 127.0.0.1: over the per-source cap
    assert.equal(await closedSoon(c), true, 'third connection from one address closed');
    assert.equal(d.inboundConnections, 2);
    assert.equal(d.refusedInbound, 1);
    a.destroy();
    await closedSoon(a);
    await until(() => d.inboundConnections === 1, 'the listener to see the close');
    const e = await open();
    assert.equal(await closedSoon(e), false, 'a place freed by a close is given again');
    assert.equal(d.inboundConnections, 2);
    for (const s of held) s.destroy();
    void b;
  });
});
