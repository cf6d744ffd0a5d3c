import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../../support/sip/memory-driver.js';
import { DriverRecorder } from './driver-recorder.js';

const enc = new TextEncoder();

function setup(options?: ConstructorParameters<typeof MemoryNetwork>[0]) {
  const net = new MemoryNetwork(options);
  const a = net.createDriver();
  const b = net.createDriver();
  const ra = new DriverRecorder();
  const rb = new DriverRecorder();
  a.setUser(ra);
  b.setUser(rb);
  return { net, a, b, ra, rb };
}

describe('MemoryDriver', () => {
  test('udp datagram between wildcard listeners, port 0 allocation', async () => {
    const { net, a, b, rb } = setup();
    const la = await a.listen('udp', '0.0.0.0', 0);
    const lb = await b.listen('udp', '0.0.0.0', 5060);
    assert.ok(la.port > 0);
    assert.equal(lb.port, 5060);
    a.sendDatagram(la, { protocol: 'udp', host: b.hosts[0]!, port: 5060 }, enc.encode('hello'));
    assert.equal(rb.events.length, 0, 'nothing before flush');
    net.flush();
    const [d] = rb.of('datagram');
    assert.equal(d?.text, 'hello');
    assert.deepEqual(d?.remote, { protocol: 'udp', host: a.hosts[0], port: la.port });
    assert.deepEqual(d?.local, lb);
  });

  test('udp to nobody reports an error; address in use is refused', async () => {
    const { net, a } = setup();
    const la = await a.listen('udp', '127.0.0.1', 5060);
    await assert.rejects(a.listen('udp', '127.0.0.1', 5060), { code: 'TRANSPORT_ADDRESS_IN_USE' });
    let err: Error | undefined;
    a.sendDatagram(la, { protocol: 'udp', host: '127.0.0.1', port: 9 }, enc.encode('x'), (e) => (err = e));
    net.flush();
    assert.equal((err as { code?: string } | undefined)?.code, 'TRANSPORT_SEND_FAILED');
  });

  test('ipv6 wildcard listener and source', async () => {
    const { net, a, b, rb } = setup();
    const la = await a.listen('udp', '::', 0);
    await b.listen('udp', '::', 5060);
    a.sendDatagram(la, { protocol: 'udp', host: b.hosts[1]!, port: 5060 }, enc.encode('v6'));
    net.flush();
    assert.equal(rb.of('datagram')[0]?.remote.host, a.hosts[1]);
  });

  test('tcp connect, write both ways, close in order', async () => {
    const { net, a, b, ra, rb } = setup({ maxChunkBytes: 3 });
    await b.listen('tcp', '0.0.0.0', 5060);
    const id = a.connect({ protocol: 'tcp', host: b.hosts[0]!, port: 5060 });
    net.flush();
    const opened = ra.of('opened')[0]!.conn;
    assert.equal(opened.id, id);
    assert.equal(opened.outbound, true);
    const server = rb.of('opened')[0]!.conn;
    assert.equal(server.outbound, false);
    assert.deepEqual(server.remote, opened.local);
    a.write(id, enc.encode('hello world'));
    a.close(id);
    net.flush();
    assert.equal(rb.streamText(server.id), 'hello world');
    assert.ok(rb.of('data').length >= 4, 'chunked');
    assert.deepEqual(rb.of('closed'), [{ type: 'closed', id: server.id, error: undefined }]);
    assert.deepEqual(ra.of('closed'), [{ type: 'closed', id, error: undefined }]);
    b.write(server.id, enc.encode('late'));
    net.flush();
    assert.equal(ra.of('data').length, 0);
  });

  test('connect refused, reset reports errors', async () => {
    const { net, a, b, ra, rb } = setup();
    const id = a.connect({ protocol: 'tls', host: b.hosts[0]!, port: 5061 });
    net.flush();
    assert.equal(ra.of('failed')[0]?.id, id);
    await b.listen('tls', '0.0.0.0', 5061);
    const id2 = a.connect({ protocol: 'tls', host: b.hosts[0]!, port: 5061 });
    net.flush();
    a.reset(id2);
    net.flush();
    assert.ok(ra.of('closed')[0]?.error);
    assert.ok(rb.of('closed')[0]?.error);
  });

  test('ws messages keep boundaries and the binary flag', async () => {
    const { net, a, b, rb } = setup();
    await b.listen('ws', '0.0.0.0', 80);
    const id = a.connect({ protocol: 'ws', host: b.hosts[0]!, port: 80 });
    net.flush();
    a.write(id, enc.encode('one'));
    a.write(id, enc.encode('two'), true);
    net.flush();
    assert.deepEqual(
      rb.of('ws').map((e) => [e.text, e.binary]),
      [
        ['one', false],
        ['two', true],
      ],
    );
  });

  test('microtask delivery and datagram filter', async () => {
    const { net, a, b, rb } = setup({ delivery: 'microtask' });
    const la = await a.listen('udp', '0.0.0.0', 0);
    await b.listen('udp', '0.0.0.0', 5060);
    net.datagramFilter = (_f, _t, d) => d[0] !== 0x78; // drop 'x…'
    a.sendDatagram(la, { protocol: 'udp', host: b.hosts[0]!, port: 5060 }, enc.encode('xdrop'));
    a.sendDatagram(la, { protocol: 'udp', host: b.hosts[0]!, port: 5060 }, enc.encode('keep'));
    await Promise.resolve();
    await Promise.resolve();
    assert.deepEqual(
      rb.of('datagram').map((d) => d.text),
      ['keep'],
    );
  });

  test('shutdown closes peers and silences the driver', async () => {
    const { net, a, b, ra, rb } = setup();
    await b.listen('tcp', '0.0.0.0', 5060);
    a.connect({ protocol: 'tcp', host: b.hosts[0]!, port: 5060 });
    net.flush();
    await b.shutdown();
    net.flush();
    assert.equal(ra.of('closed').length, 1);
    assert.equal(rb.of('closed').length, 0);
    a.connect({ protocol: 'tcp', host: b.hosts[0]!, port: 5060 });
    net.flush();
    assert.equal(ra.of('failed').length, 1);
  });

  test('flush is bounded', async () => {
    const { net, a, b } = setup();
    const la = await a.listen('udp', '0.0.0.0', 0);
    await b.listen('udp', '0.0.0.0', 5060);
    for (let i = 0; i < 10; i++) a.sendDatagram(la, { protocol: 'udp', host: b.hosts[0]!, port: 5060 }, enc.encode('x'));
    assert.equal(net.flush(4), 4);
    assert.equal(net.pending, 6);
  });
});
