/** One write of a {@link StorageBackend} batch. */
export type StorageBackendOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'delete'; key: Uint8Array };

/**
 * A sorted byte-key/byte-value store under the storage engine: in memory (tests, simulator) or
 * LMDB in the peer's data directory (platform/). Reads are synchronous; a batch is applied
 * atomically and in call order, possibly committed to disk later (`flush` waits for that).
 */
export interface StorageBackend {
  get(key: Uint8Array): Uint8Array | undefined;
  /** Every entry whose key starts with `prefix`, in key order. */
  entries(prefix: Uint8Array): Iterable<[Uint8Array, Uint8Array]>;
  batch(ops: readonly StorageBackendOp[]): void;
  /** Resolves when every batch so far is durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
