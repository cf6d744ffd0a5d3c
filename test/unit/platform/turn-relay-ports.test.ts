/**
 * NodeRelayPorts on real loopback sockets: ports from a range or from the OS, even ports on demand,
 * datagrams both ways with the port id, the range and the port cap refused as Errors, and every
 * socket closed by close() / closeAll().
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { PortAllocator } from '../../../harness/port-allocator.js';
import type { StunAddress } from '../../../src/nat/stun/stun-message.js';
import type { RelayPort } from '../../../src/nat/turn/turn-server.js';
import { NodeRelayPorts } from '../../../src/platform/turn-relay-ports.js';

const LO = '127.0.0.1';

async function socket(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, LO, () => r()));
  return s;
}

function isPort(p: RelayPort | Error): asserts p is RelayPort {
  if (p instanceof Error) throw p;
}

async function canBind(port: number): Promise<boolean> {
  const s = createSocket('udp4');
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.bind(port, LO, () => s.close(() => resolve(true)));
  });
}

describe('NodeRelayPorts', () => {
  test('opens on the OS’s ports, relays both ways with the port id, and closes', async () => {
    const got: Array<{ id: number; data: string; from: StunAddress }> = [];
    const ports = new NodeRelayPorts({ host: LO }, (id, d, from) => got.push({ id, data: Buffer.from(d).toString(), from }));
    assert.deepEqual(ports.families, [4]);
    const a = await ports.open({ family: 4, evenPort: false });
    const b = await ports.open({ family: 4, evenPort: true });
    isPort(a);
    isPort(b);
    assert.equal(b.address.port % 2, 0, 'EVEN-PORT');
    assert.notEqual(a.id, b.id);
    assert.equal(ports.size, 2);
    const peer = await socket();
    const atPeer: Array<{ data: string; port: number }> = [];
    peer.on('message', (m, r) => atPeer.push({ data: m.toString(), port: r.port }));
    a.send(Buffer.from('to peer'), { host: LO, port: peer.address().port });
    peer.send('to relay b', b.address.port, LO);
    const deadline = Date.now() + 5000;
    while ((atPeer.length < 1 || got.length < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(atPeer, [{ data: 'to peer', port: a.address.port }]);
    assert.deepEqual(got, [{ id: b.id, data: 'to relay b', from: { host: LO, port: peer.address().port } }]);
    a.close();
    a.close(); // idempotent
    assert.equal(ports.size, 1);
    await ports.closeAll();
    assert.equal(ports.size, 0);
    assert.ok(await canBind(a.address.port), 'the socket is really closed');
    assert.ok(await canBind(b.address.port));
    assert.ok((await ports.open({ family: 4, evenPort: false })) instanceof Error, 'closed for good');
    assert.ok((await new NodeRelayPorts({ host: LO }, () => undefined).open({ family: 6, evenPort: false })) instanceof Error, 'no IPv6 relay address');
    await new Promise<void>((r) => peer.close(() => r()));
  });

  test('a port range is honoured and its exhaustion, like the port cap, is an Error', async () => {
    const base = await new PortAllocator().allocate({ span: 3 });
    const ports = new NodeRelayPorts({ host: LO, portRange: [base, base + 2], advertisedHost: '127.0.0.2' }, () => undefined);
    const opened: RelayPort[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await ports.open({ family: 4, evenPort: false });
      isPort(p);
      assert.ok(p.address.port >= base && p.address.port <= base + 2);
      assert.equal(p.address.host, '127.0.0.2', 'the advertised address');
      opened.push(p);
    }
    assert.deepEqual(new Set(opened.map((p) => p.address.port)).size, 3);
    const full = await ports.open({ family: 4, evenPort: false });
    assert.ok(full instanceof Error, 'range exhausted');
    opened[1]!.close();
    const again = await ports.open({ family: 4, evenPort: false });
    isPort(again);
    assert.equal(again.address.port, opened[1]!.address.port, 'a closed port is usable again');
    await ports.closeAll();

    const capped = new NodeRelayPorts({ host: LO, maxPorts: 1 }, () => undefined);
    isPort(await capped.open({ family: 4, evenPort: false }));
    assert.match(String(await capped.open({ family: 4, evenPort: false })), /limit/);
    await capped.closeAll();
    assert.throws(() => new NodeRelayPorts({ host: 'localhost' }, () => undefined), RangeError);
  });
});
