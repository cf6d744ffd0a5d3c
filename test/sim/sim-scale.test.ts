import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { ManualClock } from '../../src/lib/manual-clock.js';
import { SimNetwork } from '../../src/sim/sim-network.js';
import type { LinkDriver } from '../../src/reload/link/link-driver.js';

test('scale smoke: 20,000 hosts, 100,000 links, 200,000 writes in bounded time and memory', async () => {
  const H = 20_000;
  const L = 5;
  const t0 = performance.now();
  const clock = new ManualClock();
  const net = new SimNetwork(clock, { seed: 5 });
  const heap0 = process.memoryUsage().heapUsed;
  const drivers: LinkDriver[] = [];
  const hosts: string[] = [];
  const outbound: string[][] = [];
  let received = 0;
  for (let i = 0; i < H; i++) {
    const h = net.addHost();
    const d = net.driverFor(h);
    const mine: string[] = [];
    d.setUser({
      onLinkOpened: (l) => void (l.outbound && mine.push(l.id)),
      onLinkFailed: () => assert.fail('no connect fails'),
      onLinkClosed: () => assert.fail('no link closes'),
      onLinkData: (_id, data) => void (received += data.length),
    });
    await d.listen(h, 6084);
    hosts.push(h);
    drivers.push(d);
    outbound.push(mine);
  }
  let x = 1;
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < L; j++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      drivers[i]!.connect({ host: hosts[x % H]!, port: 6084 });
    }
  }
  clock.advance(10_000);
  const links = outbound.reduce((n, o) => n + o.length, 0);
  assert.equal(links, H * L);
  const perLink = (process.memoryUsage().heapUsed - heap0) / links;
  const msg = new Uint8Array(100);
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < H; i++) for (const id of outbound[i]!) drivers[i]!.write(id, msg);
    clock.advance(1000);
  }
  clock.advance(11_000);
  assert.equal(received, 2 * H * L * 100);
  const s = (performance.now() - t0) / 1000;
  assert.ok(s < 90, `took ${s.toFixed(1)} s`);
  // Hosts and links together (no gc forced: an upper bound with garbage included).
  assert.ok(perLink < 4096, `${perLink.toFixed(0)} bytes per link`);
  assert.equal(clock.pendingTimers, 0);
});
