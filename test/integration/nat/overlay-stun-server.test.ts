/**
 * Every peer is a STUN server on its overlay UDP port (RFC 6940 §6.5.1.4), on the same port number
 * as its TLS listener: a real peer started by startPeer answers a Binding request sent from a real
 * dgram socket with our own address, and its status counts the answer.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPeerConfig, type PeerConfig } from '../../../src/node/peer-config.js';
import { startPeer, type RunningPeer } from '../../../src/node/run-peer.js';
import { CryptoRandom } from '../../../src/platform/crypto-random.js';
import { StunAttr, StunMethod, attr, decodeStun, encodeStun, readXorAddress, readText } from '../../../src/nat/stun/stun-message.js';

const quiet = { info: () => {}, warn: () => {} };

describe('overlay UDP port answers STUN', { timeout: 30_000 }, () => {
  const peers: RunningPeer[] = [];
  const dirs: string[] = [];
  after(async () => {
    for (const p of peers) await p.stop().catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('Binding request → XOR-MAPPED-ADDRESS of the sender, from the TLS port number', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'p2psip-stun-'));
    dirs.push(dataDir);
    const config: PeerConfig = {
      ...defaultPeerConfig(),
      sip: { host: '127.0.0.1', port: 0 },
      http: undefined,
      reload: { listen: { host: '127.0.0.1', port: 0 }, bootstrap: [], dataDir, client: false, open: true, configSource: undefined, configCa: undefined, credentials: undefined },
    };
    const peer = await startPeer(config, quiet);
    peers.push(peer);
    const listen = peer.overlay!.listen!;
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    try {
      const tid = new CryptoRandom().bytes(12);
      const reply = new Promise<Buffer>((resolve) => sock.once('message', (m) => resolve(m)));
      sock.send(encodeStun({ method: StunMethod.Binding, cls: 'request', transactionId: tid, attributes: [] }, { fingerprint: true }), listen.port, '127.0.0.1');
      const got = await reply;
      const d = decodeStun(new Uint8Array(got));
      assert.ok(d.ok, d.ok ? '' : d.error);
      assert.equal(d.value.cls, 'success');
      assert.deepEqual(Buffer.from(d.value.transactionId), Buffer.from(tid));
      assert.deepEqual(readXorAddress(attr(d.value, StunAttr.XOR_MAPPED_ADDRESS), d.value.transactionId), { host: '127.0.0.1', port: sock.address().port });
      assert.equal(readText(attr(d.value, StunAttr.SOFTWARE)), 'p2psip');
      const counters = peer.overlay!.nat!.counters();
      assert.equal(counters.bindingAnswered, 1);
      // garbage on the port is counted and dropped, the peer keeps answering
      sock.send(Buffer.from([0, 1, 0, 4, 1, 2, 3]), listen.port, '127.0.0.1');
      const reply2 = new Promise<Buffer>((resolve) => sock.once('message', (m) => resolve(m)));
      sock.send(encodeStun({ method: StunMethod.Binding, cls: 'request', transactionId: new CryptoRandom().bytes(12), attributes: [] }), listen.port, '127.0.0.1');
      assert.ok(decodeStun(new Uint8Array(await reply2)).ok);
      assert.equal(peer.overlay!.nat!.counters().stunMalformed, 1);
    } finally {
      sock.close();
    }
  });
});
