import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryBreakdown, median, parseSmapsByMapping, parseSmapsRollup, readMemory } from '../../../bench/idle-rss/process-memory.js';

const ROLLUP = `55d0c0000000-7ffd00000000 ---p 00000000 00:00 0                          [rollup]
Rss:               70000 kB
Pss:               30000 kB
Pss_Anon:          23000 kB
Shared_Clean:      46000 kB
Private_Clean:       500 kB
Private_Dirty:     23500 kB
Anonymous:         23000 kB
`;

// one mapping of each kind, two of node and two anonymous ones (their pages add up by name)
const SMAPS = `55d0c0000000-55d0c2000000 r--p 00000000 08:01 1234                       /usr/bin/node
Rss:               30000 kB
Anonymous:             0 kB
55d0c2000000-55d0c4000000 r-xp 02000000 08:01 1234                       /usr/bin/node
Rss:               10100 kB
Anonymous:           100 kB
55d0c5000000-55d0c6000000 rw-p 00000000 00:00 0                          [heap]
Rss:                4600 kB
Anonymous:          4600 kB
7f0000000000-7f0001000000 rw-p 00000000 00:00 0 
Rss:               18000 kB
Anonymous:         18000 kB
7f0001000000-7f0001100000 rw-p 00000000 00:00 0 
Rss:                 300 kB
Anonymous:           300 kB
7f0002000000-7f0002100000 r-xp 00000000 08:01 99                         /usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30
Rss:                1400 kB
Anonymous:             0 kB
7f0003000000-7f0003100000 r-xp 00000000 08:01 98                         /repo/node_modules/@lmdb/lmdb-linux-x64/node.abi115.glibc.node
Rss:                 500 kB
Anonymous:             0 kB
7f0004000000-7f0004100000 rw-s 00000000 08:01 97                         /tmp/peer/store/data.mdb
Rss:                  40 kB
Anonymous:             0 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
Rss:                 132 kB
Anonymous:           132 kB
`;

test('parseSmapsRollup: RSS, anonymous, PSS and USS (private clean + dirty)', () => {
  assert.deepEqual(parseSmapsRollup(ROLLUP), { rssKb: 70000, anonKb: 23000, pssKb: 30000, ussKb: 24000 });
  assert.deepEqual(parseSmapsRollup(''), { rssKb: 0, anonKb: 0, pssKb: 0, ussKb: 0 });
});

test('parseSmapsByMapping sums the pages of each mapping name; unnamed mappings are [anon]', () => {
  const m = parseSmapsByMapping(SMAPS);
  assert.deepEqual(m.get('/usr/bin/node'), { rssKb: 40100, anonKb: 100 });
  assert.deepEqual(m.get('[anon]'), { rssKb: 18300, anonKb: 18300 });
  assert.deepEqual(m.get('[heap]'), { rssKb: 4600, anonKb: 4600 });
  assert.equal(m.size, 7);
});

test('memoryBreakdown splits file-backed pages by file and anonymous pages into malloc heap and the rest', () => {
  const b = memoryBreakdown(ROLLUP, SMAPS, '/usr/bin/node', 11);
  assert.equal(b.rssKb, 70000);
  assert.equal(b.fileKb, 47000);
  assert.equal(b.nodeBinaryKb, 40000, 'the anonymous (copy-on-write) pages of a file mapping are not file-backed');
  assert.equal(b.sharedLibsKb, 1400);
  assert.equal(b.addonsKb, 500);
  assert.equal(b.otherFilesKb, 40);
  assert.equal(b.mallocHeapKb, 4600);
  assert.equal(b.otherAnonKb, 100 + 18300 + 132);
  assert.equal(b.threads, 11);
});

test('readMemory reads this process; an absent pid gives undefined', () => {
  const me = readMemory(process.pid);
  assert.ok(me !== undefined);
  assert.ok(me.rssKb > 0 && me.anonKb > 0 && me.nodeBinaryKb > 0 && me.threads >= 1);
  assert.ok(me.nodeBinaryKb + me.sharedLibsKb + me.addonsKb + me.otherFilesKb <= me.fileKb + 1024, 'the split stays within the total');
  assert.equal(readMemory(2 ** 22 + 12345), undefined);
});

test('median: the middle value, the lower middle one for an even count', () => {
  assert.equal(median([]), undefined);
  assert.equal(median([5]), 5);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2);
});
