import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Every file of `dir` made 0600 (LMDB creates its files 0644 less the umask). */
export function restrictFiles(dir: string): void {
  for (const f of readdirSync(dir, { withFileTypes: true })) if (f.isFile()) chmodSync(join(dir, f.name), 0o600);
}
import { open } from 'lmdb';
import type { RootDatabase } from 'lmdb';
import type { StorageBackend, StorageBackendOp } from '../reload/storage/index.js';
import { StorageError } from '../reload/storage/index.js';

/** Options of {@link LmdbStorageBackend.open}. */
export interface LmdbStorageBackendOptions {
  /** Maximum size of the memory map (default: lmdb's own, which grows as needed). */
  mapSize?: number;
}

/** Hex of a key: the pending-write overlay's Map key. */
function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function hasPrefix(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

function copy(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/**
 * A {@link StorageBackend} in an LMDB environment in the peer's data directory (the lmdb package's
 * prebuilt N-API binaries). Batches are written as one asynchronous LMDB transaction each, in
 * call order; until a batch commits, reads see it through an in-memory overlay, so the interface
 * stays synchronous and read-your-writes.
 */
export class LmdbStorageBackend implements StorageBackend {
  private readonly db: RootDatabase<Buffer, Buffer>;
  /** Uncommitted writes: key hex → value (undefined: deleted) and the batch that wrote it last. */
  private readonly pending = new Map<string, { key: Uint8Array; value: Uint8Array | undefined; seq: number }>();
  private seq = 0;
  private writes: Promise<unknown> = Promise.resolve();
  private failure: unknown;
  private closed = false;

  private constructor(db: RootDatabase<Buffer, Buffer>) {
    this.db = db;
  }

  /** Opens (creating it if needed) the store in directory `dir`. */
  static open(dir: string, options: LmdbStorageBackendOptions = {}): LmdbStorageBackend {
    try {
      // issue 15: the store holds users' HA1s (P2PSIP-USER records): directory 0700, files 0600
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
      const db = open<Buffer, Buffer>({ path: dir, keyEncoding: 'binary', encoding: 'binary', ...(options.mapSize ? { mapSize: options.mapSize } : {}) });
      restrictFiles(dir);
      return new LmdbStorageBackend(db);
    } catch (e) {
      throw new StorageError('STORAGE_BACKEND_FAILED', `cannot open the LMDB store in ${dir}: ${String(e)}`, { cause: e });
    }
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.check();
    const p = this.pending.get(hex(key));
    if (p) return p.value === undefined ? undefined : copy(p.value);
    const v = this.db.get(Buffer.from(key));
    return v === undefined ? undefined : copy(v);
  }

  /**
   * Streams the range from LMDB (one read snapshot), merged in key order with the uncommitted writes
   * under `prefix`: no copy of the whole range in memory (issue 18: a million records at start-up).
   */
  *entries(prefix: Uint8Array): Iterable<[Uint8Array, Uint8Array]> {
    this.check();
    const p = hex(prefix);
    // hex text order is byte order, as LMDB sorts binary keys
    const overlay = [...this.pending.entries()].filter(([k]) => k.startsWith(p)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    let i = 0;
    for (const { key, value } of this.db.getRange({ start: Buffer.from(prefix), snapshot: true })) {
      if (!hasPrefix(key, prefix)) break;
      const k = hex(key);
      while (i < overlay.length && overlay[i]![0] < k) {
        const w = overlay[i++]![1];
        if (w.value !== undefined) yield [copy(w.key), copy(w.value)];
      }
      if (i < overlay.length && overlay[i]![0] === k) {
        const w = overlay[i++]![1];
        if (w.value !== undefined) yield [copy(w.key), copy(w.value)];
        continue;
      }
      yield [copy(key), copy(value)];
    }
    for (; i < overlay.length; i++) {
      const w = overlay[i]![1];
      if (w.value !== undefined) yield [copy(w.key), copy(w.value)];
    }
  }

  batch(ops: readonly StorageBackendOp[]): void {
    this.check();
    const seq = ++this.seq;
    const mine = ops.map((op) => ({ key: copy(op.key), value: op.type === 'put' ? copy(op.value) : undefined }));
    for (const w of mine) this.pending.set(hex(w.key), { ...w, seq });
    const done = this.db.transaction(() => {
      for (const w of mine) {
        if (w.value === undefined) void this.db.remove(Buffer.from(w.key));
        else void this.db.put(Buffer.from(w.key), Buffer.from(w.value));
      }
    });
    this.writes = done.then(
      () => this.settle(mine, seq),
      (e: unknown) => {
        this.failure ??= e;
        this.settle(mine, seq);
      },
    );
  }

  /** Forgets the overlay entries this batch wrote last (a later batch's stay until it commits). */
  private settle(mine: { key: Uint8Array }[], seq: number): void {
    for (const w of mine) {
      const k = hex(w.key);
      if (this.pending.get(k)?.seq === seq) this.pending.delete(k);
    }
  }

  async flush(): Promise<void> {
    await this.writes;
    await this.db.flushed;
    if (this.failure !== undefined) throw new StorageError('STORAGE_BACKEND_FAILED', `an LMDB write failed: ${String(this.failure)}`, { cause: this.failure });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      await this.db.close();
    }
  }

  private check(): void {
    if (this.closed) throw new StorageError('STORAGE_BACKEND_CLOSED', 'the LMDB store is closed');
  }
}
