import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { readWholeFile, sumRxQueueBytes } from '../../../src/platform/udp-backlog-load-monitor.js';

// The reading the monitor used before it scanned bytes in place: the reference the scan must agree with.
function reference(text: string, ports: ReadonlySet<number>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const local = f[1];
    const queues = f[4];
    if (local === undefined || queues === undefined || !queues.includes(':')) continue;
    const portHex = local.slice(local.lastIndexOf(':') + 1);
    if (!/^[0-9A-Fa-f]+$/.test(portHex) || !ports.has(parseInt(portHex, 16))) continue;
    const rx = queues.slice(queues.indexOf(':') + 1);
    if (!/^[0-9A-Fa-f]+$/.test(rx)) continue;
    total += parseInt(rx, 16);
  }
  return total;
}

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

const UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
   40: 00000000000000000000000001000000:13C4 00000000000000000000000000000000:0000 07 00000000:00000A00 00:00000000 00000000     0        0 5678 2 0000000000000000 0
`;

test('sumRxQueueBytes reads IPv6 lines (/proc/net/udp6) and only the first `length` bytes', () => {
  assert.equal(sumRxQueueBytes(bytes(UDP6), UDP6.length, new Set([0x13c4])), 0xa00);
  assert.equal(sumRxQueueBytes(bytes(UDP6), UDP6.indexOf('\n') + 1, new Set([0x13c4])), 0, 'the cut-off line is not read');
  assert.equal(sumRxQueueBytes(bytes(UDP6), UDP6.length, new Set([0x13c5])), 0);
});

test('sumRxQueueBytes: a line without a port or queue of hex digits adds nothing', () => {
  const text = ['  1: 0100007F:13C4 00000000:0000 07 00000000:0000zz10 00:00000000', '  2: 0100007F:13X4 00000000:0000 07 00000000:00000010', '  3: 0100007F13C4 00000000:0000 07 00000000:00000010', '  4: 0100007F:13C4'].join('\n');
  assert.equal(sumRxQueueBytes(bytes(text), text.length, new Set([0x13c4])), 0);
});

test('sumRxQueueBytes agrees with the split-every-line reading on generated /proc/net/udp texts', () => {
  const hex = (n: number, width: number): string => n.toString(16).toUpperCase().padStart(width, '0');
  const line = fc
    .record({ sl: fc.nat(999), addr: fc.nat(0xffffffff), port: fc.integer({ min: 0, max: 0xffff }), tx: fc.nat(0xffff), rx: fc.nat(0xffffff), sep: fc.constantFrom(' ', '  ', '\t') })
    .map((l) => `${String(l.sl).padStart(4)}:${l.sep}${hex(l.addr, 8)}:${hex(l.port, 4)} 00000000:0000 07${l.sep}${hex(l.tx, 8)}:${hex(l.rx, 8)} 00:00000000 00000000     0        0 1 2 0000000000000000 0`);
  const noise = fc.string({ maxLength: 40 }).map((s) => s.replace(/\n/g, ' '));
  fc.assert(
    fc.property(fc.array(fc.oneof(line, line, noise), { maxLength: 30 }), fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 4 }), (lines, watched) => {
      const text = lines.join('\n');
      // the generated lines' own ports are watched too, so that matches happen
      const ports = new Set([...watched, ...lines.flatMap((l) => /:([0-9A-F]{4}) /.exec(l)?.[1] ?? []).slice(0, 3).map((h) => parseInt(h, 16))]);
      assert.equal(sumRxQueueBytes(bytes(text), text.length, ports), reference(text, ports));
    }),
    { seed: 17, numRuns: 300 },
  );
});

test('readWholeFile reads a file larger than the buffer it is given into a grown one', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p2psip-readwhole-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'udp');
  const content = 'x'.repeat(20_000);
  writeFileSync(path, content);
  const small = Buffer.alloc(16);
  const r = readWholeFile(path, small);
  assert.ok(r !== undefined);
  assert.equal(r.length, content.length);
  assert.ok(r.buf.length >= content.length && r.buf !== small);
  assert.equal(r.buf.subarray(0, r.length).toString('latin1'), content);
  // a buffer that is large enough is used as it is
  const again = readWholeFile(path, r.buf);
  assert.equal(again?.buf, r.buf);
  assert.equal(readWholeFile(join(dir, 'absent'), small), undefined);
});
