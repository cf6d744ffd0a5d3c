import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { MAX_CACHED_PEERS, PEER_CACHE_WRITE_INTERVAL_MS, PeerCache, parsePeerCache, serializePeerCache } from '../../../src/platform/peer-cache.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'p2psip-peer-cache-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('peer cache (issue 15)', () => {
  test('round trip through the file: most recent first, mode 0600, at stop', async () => {
    await withDir(async (dir) => {
      const path = join(dir, 'peers.json');
      const clock = new ManualClock();
      let wall = 1_000;
      const a = new PeerCache({ path, clock, wallClock: () => wall });
      assert.deepEqual(await a.load(), []);
      a.seen('AA01', '127.0.0.1', 7001);
      wall = 2_000;
      a.seen('bb02', '::1', 7002);
      wall = 3_000;
      a.seen('aa01', '127.0.0.1', 7001);
      await a.stop();
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      const logs: string[] = [];
      const b = new PeerCache({ path, clock, wallClock: () => wall, log: (l) => logs.push(l) });
      const got = await b.load();
      assert.deepEqual(got, [
        { nodeId: 'aa01', host: '127.0.0.1', port: 7001, lastSeen: 3_000 },
        { nodeId: 'bb02', host: '::1', port: 7002, lastSeen: 2_000 },
      ]);
      assert.deepEqual(logs, []);
    });
  });

  test('written at most every 30 s', async () => {
    await withDir(async (dir) => {
      const path = join(dir, 'peers.json');
      const clock = new ManualClock();
      const c = new PeerCache({ path, clock, wallClock: () => 5 });
      await c.load();
      c.seen('01', '10.0.0.1', 1);
      clock.advance(0);
      await c.whenWritten();
      assert.equal(parsePeerCache(await readFile(path, 'utf8')).peers.length, 1);
      c.seen('02', '10.0.0.2', 1);
      clock.advance(PEER_CACHE_WRITE_INTERVAL_MS - 1);
      await c.whenWritten();
      assert.equal(parsePeerCache(await readFile(path, 'utf8')).peers.length, 1, 'not yet');
      clock.advance(1);
      await c.whenWritten();
      assert.equal(parsePeerCache(await readFile(path, 'utf8')).peers.length, 2);
      await c.stop();
    });
  });

  test('bounded: 32 entries, the oldest go', async () => {
    await withDir(async (dir) => {
      const clock = new ManualClock();
      let wall = 0;
      const c = new PeerCache({ path: join(dir, 'peers.json'), clock, wallClock: () => ++wall });
      for (let i = 0; i < 50; i++) c.seen(i.toString(16).padStart(4, '0'), `10.0.1.${i}`, 6084);
      const l = c.list();
      assert.equal(l.length, MAX_CACHED_PEERS);
      assert.equal(l[0]!.host, '10.0.1.49');
      await c.stop();
      const parsed = parsePeerCache(serializePeerCache([...l, ...l]));
      assert.equal(parsed.peers.length, MAX_CACHED_PEERS, 'duplicates and overflow dropped on read too');
    });
  });

  test('garbage in the file: ignored with one log line, then overwritten', async () => {
    await withDir(async (dir) => {
      const path = join(dir, 'peers.json');
      for (const junk of ['{not json', '[]', '{"version":2,"peers":[]}', 'x'.repeat(70_000)]) {
        await writeFile(path, junk);
        const logs: string[] = [];
        const c = new PeerCache({ path, clock: new ManualClock(), wallClock: () => 1, log: (l) => logs.push(l) });
        assert.deepEqual(await c.load(), []);
        assert.equal(logs.length, 1, junk.slice(0, 20));
        assert.match(logs[0]!, /ignored/);
      }
      // bad entries inside a good file are skipped one by one
      await writeFile(path, JSON.stringify({ version: 1, peers: [{ nodeId: 'zz', host: '1.2.3.4', port: 1, lastSeen: 1 }, { nodeId: 'ab', host: '1.2.3.4', port: 99999, lastSeen: 1 }, { nodeId: 'ab', host: '1.2.3.4', port: 9, lastSeen: 1 }, 7, null] }));
      const c = new PeerCache({ path, clock: new ManualClock(), wallClock: () => 1 });
      assert.deepEqual(await c.load(), [{ nodeId: 'ab', host: '1.2.3.4', port: 9, lastSeen: 1 }]);
    });
  });
});
