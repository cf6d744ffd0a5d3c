import type { StorageBackend, StorageBackendOp } from './storage-backend.js';
import { fromHex, toHex } from './resource-id-ring.js';
import { StorageError } from './storage-error.js';

/** A {@link StorageBackend} in a Map (tests, simulator); keys ordered by their hex form. */
export class MemoryStorageBackend implements StorageBackend {
  private readonly map = new Map<string, Uint8Array>();
  private closed = false;
  /** Number of batches applied (tests observe write traffic). */
  batches = 0;

  get(key: Uint8Array): Uint8Array | undefined {
    const v = this.map.get(toHex(key));
    return v === undefined ? undefined : v.slice();
  }

  *entries(prefix: Uint8Array): Iterable<[Uint8Array, Uint8Array]> {
    const p = toHex(prefix);
    const keys = [...this.map.keys()].filter((k) => k.startsWith(p)).sort();
    for (const k of keys) {
      const v = this.map.get(k);
      if (v !== undefined) yield [fromHex(k), v.slice()];
    }
  }

  batch(ops: readonly StorageBackendOp[]): void {
    if (this.closed) throw new StorageError('STORAGE_BACKEND_CLOSED', 'MemoryStorageBackend is closed');
    this.batches++;
    for (const op of ops) {
      if (op.type === 'put') this.map.set(toHex(op.key), op.value.slice());
      else this.map.delete(toHex(op.key));
    }
  }

  /** Number of keys held. */
  get size(): number {
    return this.map.size;
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** Reopens after close() with the same contents (simulates a restart). */
  reopen(): this {
    this.closed = false;
    return this;
  }
}
