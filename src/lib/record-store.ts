/**
 * A small persistent table of text records a core keeps across restarts (the registrar's bindings,
 * the SIP usage's stored AoRs). The core stays sans-I/O: it reads the table once at start and
 * queues writes; platform/LmdbRecordStores keeps it in the peer's data directory.
 */
export interface RecordStore {
  /** Every record as last written (read once, at start). */
  loadAll(): Iterable<[string, string]>;
  /**
   * Writes a record. Never blocks the caller: writes are queued and committed in the background,
   * a later write of the same key replacing a queued one (so what is queued is bounded by the keys).
   */
  put(key: string, value: string): void;
  /** Removes a record (queued like put). */
  delete(key: string): void;
}
