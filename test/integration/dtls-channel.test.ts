/**
 * DTLS channels (src/platform/dtls-channel.ts, werift-dtls) over real loopback UDP: mutual
 * authentication with self-signed node certificates (RSA 2048 and ECDSA P-256) under the overlay's
 * trust rule, refusals on both sides, impersonation attempts (a peer presenting someone else's
 * certificate), garbage, wrong roles, bounded handshakes, and DTLS-UDP-SR end to end.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { DtlsClient, DtlsServer } from 'werift-dtls/lib/dtls/src/index.js';
import type { Transport } from 'werift-dtls/lib/dtls/src/imports/common.js';
import { SeededRandom } from '../../src/lib/random.js';
import { DtlsChannel, DtlsError, isDtlsDatagram } from '../../src/platform/dtls-channel.js';
import { SystemClock } from '../../src/platform/system-clock.js';
import { Reassembler, decodeReloadMessage, decodeReloadPdu, encodeReloadMessage } from '../../src/reload/codec/index.js';
import { SrLink } from '../../src/reload/link/sr-link.js';
import type { SrLinkUser } from '../../src/reload/link/sr-link-types.js';
import type { NodeIdentity } from '../../src/reload/security/index.js';
import { bigMessage } from '../unit/reload/codec/fragment-fixtures.js';
import { RecordingDtlsUser, dtlsPair, identity, pem, selfSignedTrust, udp } from './helpers/dtls-harness.js';
import type { DtlsEnd } from './helpers/dtls-harness.js';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.splice(0)) c();
});

const ids: Record<string, NodeIdentity> = {};
async function id(name: 'rsa1' | 'rsa2' | 'ec1' | 'ec2' | 'ec3' | 'foreign'): Promise<NodeIdentity> {
  ids[name] ??= name === 'foreign' ? await identity('ecdsa-p256', 99, 'other.test') : await identity(name.startsWith('rsa') ? 'rsa-2048' : 'ecdsa-p256', name.charCodeAt(name.length - 1) + name.length * 10);
  return ids[name]!;
}

async function handshake(a: DtlsEnd, b: DtlsEnd): Promise<number> {
  const t0 = performance.now();
  b.channel.start(); // server first: it only waits
  a.channel.start();
  await Promise.all([a.user.until(() => a.user.opened !== undefined, 5000, 'a open'), b.user.until(() => b.user.opened !== undefined, 5000, 'b open')]);
  return performance.now() - t0;
}

describe('DtlsChannel: mutual authentication with node certificates', () => {
  for (const [name, client, server] of [
    ['RSA 2048', 'rsa1', 'rsa2'],
    ['ECDSA P-256', 'ec1', 'ec2'],
    ['RSA client, ECDSA server', 'rsa1', 'ec2'],
    ['ECDSA client, RSA server', 'ec1', 'rsa2'],
  ] as const) {
    test(`${name}: handshake, each side sees the other's certificate, data both ways, key log, close_notify`, async () => {
      const ic = await id(client);
      const is = await id(server);
      const p = await dtlsPair({ role: 'client', id: ic }, { role: 'server', id: is });
      cleanups.push(p.close);
      const ms = await handshake(p.a, p.b);
      assert.deepEqual(p.a.user.opened, is.certificate.der);
      assert.deepEqual(p.b.user.opened, ic.certificate.der);
      assert.deepEqual(p.a.channel.peerCertificate, is.certificate.der);
      assert.equal(p.a.channel.state, 'open');
      assert.ok(ms < 2000, `handshake took ${ms} ms`);
      // data both ways, several records, up to 2^14 bytes
      const big = new Uint8Array(16384).map((_, i) => i & 0xff);
      assert.ok(p.a.channel.send(new Uint8Array([1, 2, 3])));
      assert.ok(p.a.channel.send(big));
      assert.equal(p.a.channel.send(new Uint8Array(16385)), false);
      assert.ok(p.b.channel.send(new Uint8Array([9])));
      await p.b.user.until(() => p.b.user.data.length === 2, 3000, 'b data');
      await p.a.user.until(() => p.a.user.data.length === 1, 3000, 'a data');
      assert.deepEqual([...p.b.user.data[0]!], [1, 2, 3]);
      assert.deepEqual(p.b.user.data[1], big);
      assert.deepEqual([...p.a.user.data[0]!], [9]);
      // NSS key log: the same CLIENT_RANDOM line on both ends
      assert.equal(p.a.keylog.length, 1);
      assert.match(p.a.keylog[0]!, /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);
      assert.deepEqual(p.b.keylog, p.a.keylog);
      // close_notify: the peer sees an orderly close; no event on the closing side
      p.a.channel.close();
      await p.b.user.until(() => p.b.user.closed !== undefined, 3000, 'b closed');
      assert.equal(p.b.user.closed!.error, undefined);
      assert.equal(p.a.user.closed, undefined);
      assert.equal(p.b.channel.state, 'closed');
      assert.equal(p.a.channel.send(new Uint8Array(1)), false);
    });
  }

  test('application records: a replayed datagram is dropped (RFC 6347 §4.1.2.6), garbage never crashes', async () => {
    const captured: Uint8Array[] = [];
    const p = await dtlsPair({ role: 'client', id: await id('ec1') }, { role: 'server', id: await id('ec2'), filter: (d) => (captured.push(new Uint8Array(d)), d) });
    cleanups.push(p.close);
    await handshake(p.a, p.b);
    const before = captured.length;
    p.a.channel.send(new Uint8Array([7, 7]));
    await p.b.user.until(() => p.b.user.data.length === 1, 3000, 'data');
    const record = captured[before]!;
    p.b.channel.receive(record); // the same record again
    p.b.channel.receive(record);
    const junk = [new Uint8Array(0), new Uint8Array([23]), new Uint8Array(13).fill(23), new Uint8Array([23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 99, 0, 40, ...new Uint8Array(40)]), new SeededRandom(3).bytes(300)];
    for (const j of junk) assert.doesNotThrow(() => p.b.channel.receive(j));
    const forged = new Uint8Array(record);
    forged[forged.length - 1]! ^= 1; // tag broken
    forged[10] = 200; // new sequence number
    p.b.channel.receive(forged);
    assert.equal(p.b.user.data.length, 1);
    const s = p.b.channel.stats();
    assert.equal(s.replays, 2);
    assert.ok(s.recordsDropped >= 2 + junk.length);
    assert.equal(p.b.channel.state, 'open');
    // still working
    p.a.channel.send(new Uint8Array([8]));
    await p.b.user.until(() => p.b.user.data.length === 2, 3000, 'more data');
  });
});

describe('DtlsChannel: refusals fail the handshake on both sides', () => {
  test('the server refuses the client certificate: server RELOAD_LINK_PEER_CERT, client a fatal bad_certificate alert', async () => {
    const p = await dtlsPair({ role: 'client', id: await id('ec1') }, { role: 'server', id: await id('ec2'), verifyPeer: () => 'not the Attach peer' });
    cleanups.push(p.close);
    p.b.channel.start();
    p.a.channel.start();
    await p.b.user.until(() => p.b.user.failed !== undefined, 3000, 'server failed');
    await p.a.user.until(() => p.a.user.failed !== undefined, 3000, 'client failed');
    assert.equal((p.b.user.failed as { code?: string }).code, 'RELOAD_LINK_PEER_CERT');
    assert.match(p.b.user.failed!.message, /not the Attach peer/);
    assert.ok(p.a.user.failed instanceof DtlsError);
    assert.equal(p.a.user.failed.code, 'DTLS_ALERT');
    assert.match(p.a.user.failed.message, /bad_certificate/);
    assert.equal(p.a.user.opened, undefined);
    assert.equal(p.b.user.opened, undefined);
  });

  test('the client refuses the server certificate (another overlay): both fail before any application data', async () => {
    const p = await dtlsPair({ role: 'client', id: await id('rsa1') }, { role: 'server', id: await id('foreign') });
    cleanups.push(p.close);
    p.b.channel.start();
    p.a.channel.start();
    await p.a.user.until(() => p.a.user.failed !== undefined, 3000, 'client failed');
    await p.b.user.until(() => p.b.user.failed !== undefined, 3000, 'server failed');
    assert.equal((p.a.user.failed as { code?: string }).code, 'RELOAD_LINK_PEER_CERT');
    assert.match(p.a.user.failed!.message, /overlay other\.test/);
    assert.match(p.b.user.failed!.message, /fatal alert: bad_certificate/);
  });

  test("a client presenting another node's certificate without its key is refused (CertificateVerify checked)", async () => {
    const victim = await id('ec3');
    const thief = await id('ec1');
    const server = new RecordingDtlsUser();
    const raw = await rawWerift('client', pem(victim).cert, pem(thief).key);
    const s = await udp((d) => ch.receive(d));
    const ch = new DtlsChannel({ role: 'server', transport: { send: s.sendTo(raw.port) }, user: server, ...pem(await id('ec2')), verifyPeer: (der) => selfSignedTrust().trustsPeerCertificate(der), handshakeTimeoutMs: 4000 });
    cleanups.push(() => (ch.close(), s.socket.close(), raw.close()));
    raw.connectTo(s.port);
    ch.start();
    (raw.sock as DtlsClient).connect().catch(() => undefined);
    await server.until(() => server.failed !== undefined, 4000, 'server failed');
    assert.ok(server.failed instanceof DtlsError);
    assert.equal(server.failed.code, 'DTLS_HANDSHAKE');
    assert.match(server.failed.message, /CertificateVerify: the signature does not verify/);
    assert.equal(raw.sock.connected, false); // no Finished came back
  });

  test("a server presenting another node's certificate without its key is refused (ServerKeyExchange signature checked)", async () => {
    const victim = await id('rsa2');
    const thief = await id('rsa1');
    const client = new RecordingDtlsUser();
    const raw = await rawWerift('server', pem(victim).cert, pem(thief).key);
    const s = await udp((d) => ch.receive(d));
    const ch = new DtlsChannel({ role: 'client', transport: { send: s.sendTo(raw.port) }, user: client, ...pem(await id('ec1')), verifyPeer: (der) => selfSignedTrust().trustsPeerCertificate(der), handshakeTimeoutMs: 4000 });
    cleanups.push(() => (ch.close(), s.socket.close(), raw.close()));
    raw.connectTo(s.port);
    ch.start();
    await client.until(() => client.failed !== undefined, 4000, 'client failed');
    assert.ok(client.failed instanceof DtlsError);
    assert.match(client.failed.message, /ServerKeyExchange: the signature does not verify/);
    assert.equal(raw.sock.connected, false); // the client never sent its flight
  });
});

describe('DtlsChannel: bounded and robust', () => {
  test('the handshake timeout is bounded: no peer → DTLS_HANDSHAKE_TIMEOUT after handshakeTimeoutMs', async () => {
    const user = new RecordingDtlsUser();
    const s = await udp(() => undefined);
    const sink = await udp(() => undefined);
    const ch = new DtlsChannel({ role: 'client', transport: { send: s.sendTo(sink.port) }, user, ...pem(await id('ec1')), verifyPeer: () => undefined, handshakeTimeoutMs: 800 });
    cleanups.push(() => (ch.close(), s.socket.close(), sink.socket.close()));
    const t0 = performance.now();
    ch.start();
    await user.until(() => user.failed !== undefined, 3000, 'timeout');
    const ms = performance.now() - t0;
    assert.equal((user.failed as DtlsError).code, 'DTLS_HANDSHAKE_TIMEOUT');
    assert.ok(ms >= 780 && ms < 1500, `failed after ${ms} ms`);
    assert.equal(ch.state, 'closed');
  });

  test('two clients, or two servers: no crash, both fail at the timeout', async () => {
    for (const role of ['client', 'server'] as const) {
      const p = await dtlsPair({ role, id: await id('ec1'), handshakeTimeoutMs: 700 }, { role, id: await id('ec2'), handshakeTimeoutMs: 700 });
      cleanups.push(p.close);
      p.a.channel.start();
      p.b.channel.start();
      await p.a.user.until(() => p.a.user.failed !== undefined, 3000, `${role} a`);
      await p.b.user.until(() => p.b.user.failed !== undefined, 3000, `${role} b`);
      assert.equal((p.a.user.failed as DtlsError).code, 'DTLS_HANDSHAKE_TIMEOUT');
      assert.equal((p.b.user.failed as DtlsError).code, 'DTLS_HANDSHAKE_TIMEOUT');
    }
  });

  test('garbage before and during the handshake does not stop it; datagrams before start() are ignored', async () => {
    const p = await dtlsPair({ role: 'client', id: await id('rsa1') }, { role: 'server', id: await id('ec2') });
    cleanups.push(p.close);
    const r = new SeededRandom(11);
    const noise = (): void => {
      for (let i = 0; i < 20; i++) {
        const g = r.bytes(1 + (r.u32() % 200));
        if (i % 2 === 0) g[0] = 20 + (r.u32() % 4); // looks like a DTLS record type
        p.a.channel.receive(g);
        p.b.channel.receive(g);
      }
    };
    noise();
    p.b.channel.start();
    noise();
    p.a.channel.start();
    noise();
    await handshake(p.a, p.b);
    noise();
    assert.ok(p.a.channel.send(new Uint8Array([5])));
    await p.b.user.until(() => p.b.user.data.length === 1, 3000, 'data');
    assert.equal(isDtlsDatagram(new Uint8Array([22])), true);
    assert.equal(isDtlsDatagram(new Uint8Array([0, 1])), false); // STUN
    assert.equal(isDtlsDatagram(new Uint8Array([64])), false); // TURN ChannelData
  });

  test('a key that is not the certificate’s, or an unsupported key, is refused at construction', async () => {
    const a = pem(await id('ec1'));
    const b = pem(await id('ec2'));
    const user = new RecordingDtlsUser();
    assert.throws(() => new DtlsChannel({ role: 'client', transport: { send: () => undefined }, user, cert: a.cert, key: b.key, verifyPeer: () => undefined }), /does not belong/);
    assert.throws(() => new DtlsChannel({ role: 'client', transport: { send: () => undefined }, user, cert: 'nope', key: a.key, verifyPeer: () => undefined }), DtlsError);
  });
});

describe('DTLS-UDP-SR end to end (RFC 6940 §6.6.4) over loopback', () => {
  test('200 RELOAD messages up to 5,000 bytes each way, fragmented to the SR payload, 3 % datagram loss, delivered and reassembled', async () => {
    const lossA = new SeededRandom(21);
    const lossB = new SeededRandom(22);
    let lossy = false;
    const p = await dtlsPair(
      { role: 'client', id: await id('ec1'), filter: (d) => (lossy && lossA.float() < 0.03 ? undefined : d) },
      { role: 'server', id: await id('rsa2'), filter: (d) => (lossy && lossB.float() < 0.03 ? undefined : d) },
    );
    cleanups.push(p.close);
    const handshakeMs = await handshake(p.a, p.b);
    lossy = true;
    const clock = new SystemClock();
    const got: Record<'a' | 'b', bigint[]> = { a: [], b: [] };
    const sr: Record<'a' | 'b', SrLink> = {} as Record<'a' | 'b', SrLink>;
    const failures: string[] = [];
    for (const side of ['a', 'b'] as const) {
      const end = p[side];
      const reassembler = new Reassembler(clock);
      cleanups.push(() => reassembler.clear());
      const user: SrLinkUser = {
        onLinkMessage: (_id, m) => {
          const pdu = decodeReloadPdu(m);
          if (!pdu.ok) return failures.push(`${side}: undecodable`);
          const r = reassembler.accept(pdu.value, 'peer');
          if (r.kind === 'complete') {
            const whole = decodeReloadMessage(r.message);
            if (!whole.ok) return failures.push(`${side}: bad reassembly`);
            got[side].push(whole.value.header.transactionId);
          }
          return undefined;
        },
        onLinkFailed: (_id, e) => failures.push(`${side}: ${e.message}`),
      };
      sr[side] = new SrLink(side, { clock, channel: { send: (d) => end.channel.send(d) }, user }, { initialRttMs: handshakeMs / 4, keepaliveIdleMs: Infinity });
      end.user.onDataHook = (d) => sr[side].receive(d);
    }
    cleanups.push(() => (sr.a.close(), sr.b.close()));
    const sizes = [300, 900, 1200, 1800, 5000];
    const n = 200;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      for (const side of ['a', 'b'] as const) {
        const overhead = encodeReloadMessage(bigMessage(0, BigInt(i))).length;
        const m = encodeReloadMessage(bigMessage(sizes[i % sizes.length]! - overhead, BigInt(i)));
        assert.ok(sr[side].send(m), `send ${side} ${i}`);
      }
    }
    const done = (): boolean => got.a.length >= n && got.b.length >= n;
    await p.b.user.until(done, 20_000, 'all messages').catch(() => undefined);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (done() || performance.now() - t0 > 20_000) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    const ms = performance.now() - t0;
    assert.deepEqual(failures, []);
    for (const side of ['a', 'b'] as const) {
      const ids = new Set(got[side].map(Number));
      assert.equal(ids.size, n, `${side} got ${ids.size} distinct of ${n}`);
    }
    const sa = sr.a.stats();
    assert.ok(sa.fragmentsSent > 0);
    assert.ok(sa.retransmissions > 0, 'loss caused retransmissions');
    // every datagram within the SR payload limit plus the frame header and DTLS overhead
    const dtls = p.a.channel.stats();
    assert.ok(dtls.bytesOut / dtls.datagramsOut <= 1208 + 37);
    console.log(`# SR over DTLS: ${n} messages each way (${(sa.bytesOut / 1024).toFixed(0)} KiB from a) in ${ms.toFixed(0)} ms; a: ${sa.retransmissions} retransmissions (${sa.fastRetransmissions} fast), cwnd ${sa.cwnd.toFixed(1)}, srtt ${sa.srttMs?.toFixed(2)} ms, rto ${sa.rtoMs} ms`);
  });
});

/** A bare werift-dtls end (no checks of ours) on its own loopback socket: the impersonator. */
async function rawWerift(role: 'client' | 'server', certPem: string, keyPem: string): Promise<{ sock: DtlsClient | DtlsServer; port: number; connectTo: (port: number) => void; close: () => void }> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  let remote = 0;
  const transport: Transport = {
    type: 'udp',
    address: { address: '127.0.0.1', family: 'IPv4', port: socket.address().port },
    closed: false,
    onData: () => undefined,
    send: (d: Buffer) => {
      if (remote !== 0) socket.send(d, remote, '127.0.0.1');
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  socket.on('message', (m) => {
    try {
      transport.onData(m, ['127.0.0.1', remote]);
    } catch {
      // werift throws on some input; not our concern here
    }
  });
  const key = keyPem.includes('BEGIN PRIVATE KEY') ? keyPem : keyPem;
  const signature = certPem.length > 0 && (await isRsa(keyPem)) ? 1 : 3;
  const o = { transport, cert: certPem, key, signatureHash: { hash: 4 as const, signature: signature as 1 | 3 }, certificateRequest: true, extendedMasterSecret: true };
  const sock = role === 'client' ? new DtlsClient(o) : new DtlsServer(o);
  return {
    sock,
    port: socket.address().port,
    connectTo: (port) => {
      remote = port;
    },
    close: () => {
      sock.dtls.flight = Number.MAX_SAFE_INTEGER;
      socket.close();
    },
  };
}

async function isRsa(keyPem: string): Promise<boolean> {
  const { createPrivateKey } = await import('node:crypto');
  return createPrivateKey(keyPem).asymmetricKeyType === 'rsa';
}
