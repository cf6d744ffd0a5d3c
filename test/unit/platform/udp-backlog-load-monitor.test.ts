import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { UdpBacklogLoadMonitor, sumRxQueue } from '../../../src/platform/udp-backlog-load-monitor.js';

const PROC_NET_UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  117: 0100007F:13C4 00000000:0000 07 00000000:00012000 00:00000000 00000000     0        0 1234 2 0000000000000000 0
  118: 00000000:13C4 00000000:0000 07 00000000:00000300 00:00000000 00000000     0        0 1235 2 0000000000000000 0
  119: 0100007F:1F90 00000000:0000 07 00000000:00FFFFFF 00:00000000 00000000     0        0 1236 2 0000000000000000 7
garbage line
`;

test('sumRxQueue adds the rx_queue of the sockets on the watched ports only', () => {
  // 0x13C4 = 5060; 0x12000 + 0x300 = 73728 + 768
  assert.equal(sumRxQueue(PROC_NET_UDP, new Set(['13C4'])), 0x12000 + 0x300);
  assert.equal(sumRxQueue(PROC_NET_UDP, new Set(['1F90'])), 0xffffff);
  assert.equal(sumRxQueue(PROC_NET_UDP, new Set(['0001'])), 0);
  assert.equal(sumRxQueue('', new Set(['13C4'])), 0);
});

test('the kernel queues are read only when the event loop was busy; a real backlog is seen then', async () => {
  const sink = createSocket('udp4');
  const source = createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  sink.setRecvBufferSize(1 << 20);
  // nobody reads `sink`: what is sent stays queued in the kernel
  sink.removeAllListeners('message');
  const handle = (sink as unknown as { _handle?: { recvStop?: () => number } })._handle;
  assert.equal(typeof handle?.recvStop, 'function', "node's UDP handle has recvStop (the test keeps the datagrams queued with it)");
  handle!.recvStop!();
  try {
    let utilization = 0.2;
    const m = new UdpBacklogLoadMonitor({ enterBacklogBytes: 20_000, leaveBacklogBytes: 10_000, loopUtilization: () => utilization });
    m.watchPort(sink.address().port);
    const payload = Buffer.alloc(500, 1);
    for (let i = 0; i < 100; i++) await new Promise<void>((r, j) => source.send(payload, sink.address().port, '127.0.0.1', (e) => (e ? j(e) : r())));
    m.sample();
    assert.equal(m.procSamples, 0, 'an idle loop: nothing read');
    assert.equal(m.overloaded(), false);
    if (!existsSync('/proc/net/udp')) return; // the kernel does not say: only the heap guard applies
    utilization = 0.95;
    m.sample();
    assert.equal(m.procSamples, 1);
    assert.ok(m.maxBacklogBytes >= 20_000, `backlog seen: ${m.maxBacklogBytes} B`);
    assert.equal(m.overloaded(), true);
    // the loop idle again: the queue was drained then (here the claim is injected), so not overloaded
    utilization = 0.5;
    m.sample();
    assert.equal(m.procSamples, 1);
    assert.equal(m.overloaded(), false);
  } finally {
    source.close();
    sink.close();
  }
});

test('reads of the kernel queues keep to their share of the time; the samples in between keep the last backlog read', () => {
  let t = 1_000;
  let reads = 0;
  let queued = 5_000_000;
  const m = new UdpBacklogLoadMonitor({
    enterBacklogBytes: 3_000_000,
    leaveBacklogBytes: 1_000_000,
    loopUtilization: () => 0.99,
    maxReadFraction: 0.02,
    now: () => t,
    readBacklog: () => {
      reads++;
      t += 4; // each read takes 4 ms: the next may come 200 ms later
      return queued;
    },
  });
  m.watchPort(5060);
  m.sample();
  assert.equal(reads, 1);
  assert.equal(m.overloaded(), true, 'a deep backlog read: overloaded');
  queued = 0;
  // every 50 ms for 150 ms: inside the budget's pause, the last reading holds
  for (let i = 0; i < 3; i++) {
    t += 50;
    m.sample();
  }
  assert.equal(reads, 1, 'no read within 200 ms of a 4 ms read');
  assert.equal(m.budgetSkips, 3);
  assert.equal(m.overloaded(), true, 'the last backlog read still stands');
  t += 50;
  m.sample();
  assert.equal(reads, 2, 'read again once 200 ms have passed');
  assert.equal(m.procSamples, 2);
  assert.equal(m.overloaded(), false, 'the drained queue is seen at the next read');
  assert.throws(() => new UdpBacklogLoadMonitor({ maxReadFraction: 0 }), /maxReadFraction/);
});
