import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QUEUED_DATAGRAM_BYTES, UdpBacklogLoadMonitor, sumRxQueue } from '../../../src/platform/udp-backlog-load-monitor.js';

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

/** A monitor on a manual clock; `step(read, backlogDatagrams)` reads `read` datagrams over one 50 ms sample. */
function monitor(options: ConstructorParameters<typeof UdpBacklogLoadMonitor>[0] = {}): { m: UdpBacklogLoadMonitor; step: (read: number, queued: number, busy?: number) => boolean } {
  let t = 0;
  let cpu = 0;
  const m = new UdpBacklogLoadMonitor({ now: () => t, cpuMs: () => cpu, ...options });
  m.sample(0);
  return {
    m,
    step(read, queued, busy = 1) {
      t += 50;
      cpu += 50 * busy;
      for (let i = 0; i < read; i++) m.noteReceived();
      m.sample(queued * QUEUED_DATAGRAM_BYTES);
      return m.overloaded();
    },
  };
}

test('the backlog is judged by how long it takes to read: 3 s of slow work is overload, the same bytes of fast work are not', () => {
  // a peer reading 840 new REGISTERs/s with 2,000 queued: 2.4 s of wait (below the 3 MiB cap)
  const slow = monitor();
  let over = false;
  for (let i = 0; i < 10; i++) over = slow.step(42, 2000);
  assert.equal(over, true);
  assert.ok(slow.m.drainMs > 2000 && slow.m.drainMs < 2800, `${slow.m.drainMs}`);
  // one reading 20,000/s (refreshes) with the same 2,000 queued: 0.1 s
  const fast = monitor();
  for (let i = 0; i < 10; i++) over = fast.step(1000, 2000);
  assert.equal(over, false);
  assert.ok(fast.m.drainMs > 80 && fast.m.drainMs < 120, `${fast.m.drainMs}`);
});

test('hysteresis: overloaded from maxDrainMs, normal again below half of it; a small queue is never judged', () => {
  const { m, step } = monitor({ maxDrainMs: 250, minBacklogBytes: 64 * 1024 });
  for (let i = 0; i < 10; i++) step(50, 100); // 1,000/s, 100 queued: 100 ms
  assert.equal(m.overloaded(), false);
  assert.equal(step(50, 300), false); // 300 ms once: not yet
  for (let i = 0; i < 10; i++) step(50, 300); // 300 ms, sample after sample
  assert.equal(m.overloaded(), true);
  for (let i = 0; i < 10; i++) step(50, 200); // 200 ms: still above half
  assert.equal(m.overloaded(), true);
  for (let i = 0; i < 10; i++) step(50, 100); // 100 ms: below half
  assert.equal(m.overloaded(), false);
  // nothing read yet (rate unknown) and 80 datagrams queued: below minBacklogBytes, not judged
  const idle = monitor();
  assert.equal(idle.step(0, 80), false);
  assert.equal(idle.m.drainMs, Infinity);
  // nothing read at all while 300 wait, two samples running: stuck, overloaded
  assert.equal(idle.step(0, 300), false);
  assert.equal(idle.step(0, 300), true);
  // one stall (a queue of 300 ms once), read by the next sample: never overloaded
  const stalled = monitor();
  for (let i = 0; i < 10; i++) stalled.step(50, 20);
  assert.equal(stalled.step(15, 300), false);
  assert.equal(stalled.step(50, 20), false);
  // a burst after a quiet second: 60 read in the sample, 60 waiting — 50 ms at the burst's own rate
  const quiet = monitor();
  for (let i = 0; i < 20; i++) quiet.step(0, 0);
  assert.equal(quiet.step(60, 60), false);
});

test('a peer behind while it gets little CPU (other programs take it) is starved, not overloaded', () => {
  const { m, step } = monitor();
  for (let i = 0; i < 10; i++) step(42, 2000, 0.4); // 2.4 s behind, 40 % of a core
  assert.equal(m.overloaded(), false);
  assert.ok(m.drainMs > 2000 && m.busy < 0.5);
  for (let i = 0; i < 2; i++) step(42, 2000, 1); // the same queue with the core busy
  assert.equal(m.overloaded(), true);
});

test('the byte cap still applies whatever the rate, and bad options are refused', () => {
  const { step } = monitor({ enterBacklogBytes: 100 * QUEUED_DATAGRAM_BYTES, leaveBacklogBytes: 50 * QUEUED_DATAGRAM_BYTES, maxDrainMs: 10_000 });
  assert.equal(step(100_000, 120), true);
  assert.equal(step(100_000, 60), true);
  assert.equal(step(100_000, 40), false);
  assert.throws(() => new UdpBacklogLoadMonitor({ maxDrainMs: 0 }), /maxDrainMs must be a positive number/);
  assert.throws(() => new UdpBacklogLoadMonitor({ minBacklogBytes: Number.NaN }), /minBacklogBytes/);
  assert.throws(() => new UdpBacklogLoadMonitor({ busyFraction: -1 }), /busyFraction/);
});
