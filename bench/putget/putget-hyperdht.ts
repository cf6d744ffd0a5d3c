/**
 * The comparison side of the putget benchmark: hyperdht's own testnet (`hyperdht/testnet`, all
 * nodes in this process on 127.0.0.1, UDP, no TLS, no per-message signatures; mutable values are
 * signed with ed25519) doing mutablePut at one node and mutableGet at another.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type { PutGetRun } from './putget-reload.js';
import { heapBytes, settledRss, summariseRun } from './putget-stats.js';

interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}
interface HyperDhtNode {
  mutablePut(keyPair: KeyPair, value: Uint8Array, opts?: { seq?: number }): Promise<unknown>;
  mutableGet(publicKey: Uint8Array, opts?: { latest?: boolean }): Promise<{ value: Uint8Array; seq: number } | null>;
}
interface Testnet {
  nodes: HyperDhtNode[];
  destroy(): Promise<void>;
}

const require = createRequire(import.meta.url);

export async function runHyperdht(n: number, ops: number, valueBytes: number, warmup: number): Promise<PutGetRun> {
  const DHT = require('hyperdht') as { keyPair(): KeyPair };
  const createTestnet = require('hyperdht/testnet') as (size: number, opts?: { host?: string }) => Promise<Testnet>;
  const rss0 = await settledRss();
  const heap0 = heapBytes();
  const t0 = performance.now();
  const testnet = await createTestnet(n, { host: '127.0.0.1' });
  const joinSeconds = (performance.now() - t0) / 1000;
  const rss1 = await settledRss();
  const heap1 = heapBytes();
  const put: number[] = [];
  const get: number[] = [];
  let failures = 0;
  const keys = Array.from({ length: n }, () => DHT.keyPair());
  const seqs = new Array<number>(n).fill(0);
  try {
    for (let i = 0; i < warmup + ops; i++) {
      const ai = (i * 7 + 3) % n;
      let bi = (i * 13 + 5 + Math.floor(i / n)) % n;
      if (bi === ai) bi = (bi + 1) % n;
      const a = testnet.nodes[ai]!;
      const b = testnet.nodes[bi]!;
      const value = new Uint8Array(valueBytes).fill(i & 0xff);
      const p0 = performance.now();
      let ok = true;
      try {
        await a.mutablePut(keys[ai]!, value, { seq: ++seqs[ai]! });
      } catch {
        ok = false;
      }
      const p1 = performance.now();
      let got: { value: Uint8Array } | null = null;
      try {
        got = await b.mutableGet(keys[ai]!.publicKey, { latest: true });
      } catch {
        ok = false;
      }
      const p2 = performance.now();
      if (i < warmup) continue;
      if (!ok || got === null || got.value[0] !== (i & 0xff)) failures++;
      put.push(p1 - p0);
      get.push(p2 - p1);
    }
  } finally {
    await testnet.destroy();
  }
  return summariseRun({
    system: 'hyperdht testnet (UDP, no TLS)',
    nodes: n,
    ops,
    valueBytes,
    joinSeconds,
    put,
    get,
    failures,
    memory: { rss0, rss1, heap0, heap1 },
    notes: 'mutablePut stores at the closest nodes found by its query; mutableGet with latest: true',
  });
}
