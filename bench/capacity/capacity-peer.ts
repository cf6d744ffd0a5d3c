/**
 * One phase of the `capacity` benchmark (issue 18), run in its own node process (--expose-gc) so its
 * memory is that of one peer's storage alone: the StorageEngine over the LMDB backend in `dir`.
 *   store <dir> <n> <writers>: stores n SIP-REGISTRATION values, prints the Store rate and memory.
 *   reopen <dir> <n> <fetches>: opens the data dir as a restarting peer does, prints the start-up
 *     time, memory held and Fetch latency.
 * Values are as a phone's registration: a 140-byte value under a 16-byte dictionary key, a 72-byte
 * ECDSA-sized signature naming a certificate by hash. They are checked by a fake verifier (the
 * signer is read from the AoR): the benchmark measures storage, not signature checks.
 * Prints one JSON line on stdout.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { SystemClock } from '../../src/platform/system-clock.js';
import { LmdbStorageBackend } from '../../src/platform/lmdb-storage-backend.js';
import { HashAlgorithm } from '../../src/reload/codec/index.js';
import type { StoreReq, StoredData } from '../../src/reload/codec/index.js';
import { StorageEngine, chordResourceId } from '../../src/reload/storage/index.js';
import type { AccessIdentity, KindDefinition, StoredDataVerifier } from '../../src/reload/storage/index.js';

export const SIP_REGISTRATION = 1;
const KIND: KindDefinition = { id: SIP_REGISTRATION, name: 'SIP-REGISTRATION', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH', maxCount: 8, maxSize: 1000, proxyPeerWrites: true };
const LIFETIME_S = 24 * 3600;
const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** How the values are signed: 'own' each by its phone's own user and Node-ID; 'proxy' all by one registrar peer. */
export type Writers = 'own' | 'proxy';

export interface MemorySample {
  heapUsed: number;
  arrayBuffers: number;
  external: number;
  rss: number;
  /** Anonymous resident memory (JS heap, malloc): VmRSS less the mapped files. */
  rssAnon: number;
  /** Resident pages of mapped files (LMDB's memory map, code): the kernel may drop them at will. */
  rssFile: number;
}

export interface StorePhase {
  phase: 'store';
  n: number;
  stored: number;
  refused: number;
  firstRefusal?: string;
  storeSeconds: number;
  storesPerSecond: number;
  before: MemorySample;
  after: MemorySample;
  resources: number;
}

export interface ReopenPhase {
  phase: 'reopen';
  n: number;
  startupMs: number;
  resources: number;
  before: MemorySample;
  after: MemorySample;
  fetches: number;
  fetchOk: number;
  fetchUs: { mean: number; p50: number; p99: number; max: number };
}

function kib(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

function sample(): MemorySample {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  gc();
  gc();
  const m = process.memoryUsage();
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    // not Linux: no split of the RSS
  }
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, external: m.external, rss: m.rss, rssAnon: kib(status, 'RssAnon'), rssFile: kib(status, 'RssFile') };
}

function nodeIdOf(i: number, writers: Writers): Uint8Array {
  const id = new Uint8Array(16);
  if (writers === 'proxy') return id.fill(0x70);
  new DataView(id.buffer).setUint32(12, i + 1);
  id[0] = 0xa0;
  return id;
}

const aor = (i: number): string => `phone${i}@capacity.p2psip.local`;

/** The signer a value names: its dictionary key is the Node-ID, the signature starts with the AoR index. */
const verifier = (writers: Writers): StoredDataVerifier => ({
  verify: (_r: Uint8Array, _k: number, d: StoredData) => {
    if (d.value.model !== 'dictionary') return { ok: false, info: 'not a registration' };
    const i = new DataView(d.signature.signatureValue.buffer, d.signature.signatureValue.byteOffset).getUint32(0);
    return { ok: true, signer: identity(i, writers) };
  },
});

function identity(i: number, writers: Writers): AccessIdentity {
  return { userName: writers === 'proxy' ? 'peer@capacity.p2psip.local' : aor(i), nodeIds: [nodeIdOf(i, writers)] };
}

function registration(i: number, writers: Writers, storageTime: bigint): StoreReq {
  const value = utf8.encode(`<sip:${aor(i)}>;expires=3600;+sip.instance="<urn:uuid:00000000-0000-0000-0000-${String(i).padStart(12, '0')}>"`.padEnd(140, ' ').slice(0, 140));
  const signatureValue = new Uint8Array(72).fill(0x5a);
  new DataView(signatureValue.buffer).setUint32(0, i);
  return {
    resource: chordResourceId(utf8.encode(aor(i)), 16),
    replicaNumber: 0,
    kindData: [
      {
        kind: SIP_REGISTRATION,
        generationCounter: 0n,
        values: [
          {
            storageTime,
            lifetime: LIFETIME_S,
            value: { model: 'dictionary', key: nodeIdOf(i, writers), value: { exists: true, value } },
            signature: { algorithm: { hash: HashAlgorithm.sha256, signature: 3 }, identity: { type: 'cert_hash', hashAlg: HashAlgorithm.sha256, certificateHash: new Uint8Array(32).fill(0x11) }, signatureValue },
          },
        ],
      },
    ],
  };
}

function engineOn(dir: string, writers: Writers): { engine: StorageEngine; backend: LmdbStorageBackend } {
  const backend = LmdbStorageBackend.open(dir);
  const engine = new StorageEngine({
    clock: new SystemClock(),
    backend,
    kinds: (id) => (id === SIP_REGISTRATION ? KIND : undefined),
    hashResourceName: (name) => chordResourceId(name, 16),
    verifyStoredData: verifier(writers),
    wallClock: () => Date.now(),
  });
  return { engine, backend };
}

async function storePhase(dir: string, n: number, writers: Writers): Promise<StorePhase> {
  const before = sample();
  const { engine, backend } = engineOn(dir, writers);
  let refused = 0;
  let firstRefusal: string | undefined;
  const t0 = performance.now();
  const base = BigInt(Date.now()) * 1000n;
  for (let i = 0; i < n; i++) {
    const r = engine.store(registration(i, writers, base + BigInt(i)), { requester: identity(i, writers) });
    if (!r.ok) {
      refused++;
      firstRefusal ??= `${i}: ${r.info}`;
    }
    // a peer takes Stores from its sockets: give LMDB's commits their turns
    if (i % 5_000 === 4_999) {
      await backend.flush();
      await yieldTurn();
    }
    if (i % 100_000 === 99_999) process.stderr.write(`stored ${i + 1}\n`);
  }
  await engine.close();
  const storeSeconds = (performance.now() - t0) / 1000;
  const after = sample();
  const resources = engine.summary().resources;
  await backend.close();
  return { phase: 'store', n, stored: n - refused, refused, ...(firstRefusal === undefined ? {} : { firstRefusal }), storeSeconds, storesPerSecond: n / storeSeconds, before, after, resources };
}

async function reopenPhase(dir: string, n: number, fetches: number, writers: Writers): Promise<ReopenPhase> {
  const before = sample();
  const t0 = performance.now();
  const { engine, backend } = engineOn(dir, writers);
  const startupMs = performance.now() - t0;
  const after = sample();
  const times: number[] = [];
  let fetchOk = 0;
  let seed = 12345;
  for (let k = 0; k < fetches; k++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const i = seed % n;
    const t = performance.now();
    const r = engine.fetch({ resource: chordResourceId(utf8.encode(aor(i)), 16), specifiers: [{ kind: SIP_REGISTRATION, generation: 0n, model: 'dictionary', keys: [] }] });
    times.push((performance.now() - t) * 1000);
    const v = r.ok ? r.answer.kindResponses[0]?.values[0] : undefined;
    if (v !== undefined && v.value.model === 'dictionary' && utf8d.decode(v.value.value.value).includes(aor(i))) fetchOk++;
  }
  times.sort((a, b) => a - b);
  const q = (p: number): number => times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0;
  const resources = engine.summary().resources;
  await engine.close();
  await backend.close();
  return { phase: 'reopen', n, startupMs, resources, before, after, fetches, fetchOk, fetchUs: { mean: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length), p50: q(0.5), p99: q(0.99), max: times[times.length - 1] ?? 0 } };
}

async function main(argv: readonly string[]): Promise<void> {
  const [phase, dir, nText, extra, writersText] = argv;
  const n = Number(nText);
  const writers: Writers = writersText === 'proxy' ? 'proxy' : 'own';
  if (dir === undefined || !(n > 0)) throw new Error('usage: capacity-peer.ts store|reopen <dir> <n> <fetches> <own|proxy>');
  const out = phase === 'store' ? await storePhase(dir, n, writers) : await reopenPhase(dir, n, Number(extra ?? 10_000), writers);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`capacity peer failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
