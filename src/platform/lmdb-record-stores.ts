/**
 * Small persistent tables of text records ({@link RecordStore}) in one LMDB environment of the
 * peer's data directory (issue 14: `<data-dir>/registrations` keeps the registrar's bindings and the
 * SIP usage's stored AoRs across a restart).
 *
 * Writes never block the caller and are bounded: put/delete only record the latest value of a key
 * in memory; once per event-loop turn the queued keys are written in one asynchronous LMDB
 * transaction, one transaction at a time (changes made meanwhile wait for the next). What is queued
 * is therefore at most one value per key, however fast keys change. A committed transaction is in
 * the memory map, so a `kill -9` keeps it; a change made in the last turn before the kill may be lost.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { restrictFiles } from './lmdb-storage-backend.js';
import { open } from 'lmdb';
import type { Database, RootDatabase } from 'lmdb';
import type { RecordStore } from '../lib/record-store.js';

export interface LmdbRecordStoresOptions {
  /** Called when a write fails (the records of that transaction are lost, later ones go on). */
  onError?: (err: unknown) => void;
}

/** Longest key written (LMDB's own limit is 1,978 bytes); a longer one is refused and reported. */
export const MAX_RECORD_KEY_BYTES = 1_024;

export interface RecordStoresStats {
  /** Keys waiting to be written. */
  queued: number;
  /** Transactions committed, records written in them, writes that failed. */
  commits: number;
  written: number;
  failures: number;
}

interface Table {
  db: Database<Buffer, Buffer>;
  /** key → latest value (null: delete) not yet handed to a transaction. */
  queued: Map<string, string | null>;
}

export class LmdbRecordStores {
  private readonly tables = new Map<string, Table>();
  private scheduled = false;
  private writing: Promise<void> | undefined;
  private closed = false;
  private readonly counters = { commits: 0, written: 0, failures: 0 };

  private constructor(
    private readonly root: RootDatabase<Buffer, Buffer>,
    private readonly options: LmdbRecordStoresOptions,
  ) {}

  /** Opens (creating it if needed) the environment in directory `dir`. */
  static open(dir: string, options: LmdbRecordStoresOptions = {}): LmdbRecordStores {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const root = open<Buffer, Buffer>({ path: dir, maxDbs: 8, keyEncoding: 'binary', encoding: 'binary' });
    restrictFiles(dir);
    return new LmdbRecordStores(root, options);
  }

  /** The table `name` (opened once). */
  table(name: string): RecordStore {
    let t = this.tables.get(name);
    if (t === undefined) {
      t = { db: this.root.openDB<Buffer, Buffer>({ name, keyEncoding: 'binary', encoding: 'binary' }), queued: new Map() };
      this.tables.set(name, t);
    }
    const table = t;
    return {
      loadAll: () => this.loadAll(table),
      put: (key, value) => this.queue(table, key, value),
      delete: (key) => this.queue(table, key, null),
    };
  }

  stats(): RecordStoresStats {
    let queued = 0;
    for (const t of this.tables.values()) queued += t.queued.size;
    return { queued, ...this.counters };
  }

  /** Resolves when everything queued so far is committed. */
  async flush(): Promise<void> {
    while (this.writing !== undefined || this.hasQueued()) {
      if (this.writing === undefined) this.commit();
      await this.writing;
    }
  }

  /** Writes what is queued, then closes the environment; later writes are dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    await this.root.close();
  }

  private *loadAll(t: Table): Iterable<[string, string]> {
    for (const { key, value } of t.db.getRange({ snapshot: true })) {
      yield [Buffer.from(key).toString('utf8'), Buffer.from(value).toString('utf8')];
    }
  }

  private queue(t: Table, key: string, value: string | null): void {
    if (this.closed) return;
    if (Buffer.byteLength(key) > MAX_RECORD_KEY_BYTES) {
      this.counters.failures++;
      this.options.onError?.(new RangeError(`record key of ${Buffer.byteLength(key)} bytes (at most ${MAX_RECORD_KEY_BYTES})`));
      return;
    }
    t.queued.set(key, value);
    if (!this.scheduled && this.writing === undefined) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.commit();
      });
    }
  }

  private hasQueued(): boolean {
    for (const t of this.tables.values()) if (t.queued.size > 0) return true;
    return false;
  }

  /** One transaction with every queued record; the next one starts when it is done. */
  private commit(): void {
    if (this.writing !== undefined || !this.hasQueued()) return;
    const batch: Array<[Database<Buffer, Buffer>, Map<string, string | null>]> = [];
    for (const t of this.tables.values()) {
      if (t.queued.size === 0) continue;
      batch.push([t.db, t.queued]);
      t.queued = new Map();
    }
    let n = 0;
    const done = this.root.transaction(() => {
      for (const [db, records] of batch) {
        for (const [key, value] of records) {
          n++;
          if (value === null) void db.remove(Buffer.from(key, 'utf8'));
          else void db.put(Buffer.from(key, 'utf8'), Buffer.from(value, 'utf8'));
        }
      }
    });
    this.writing = done.then(
      () => {
        this.counters.commits++;
        this.counters.written += n;
      },
      (err: unknown) => {
        this.counters.failures++;
        this.options.onError?.(err);
      },
    ).finally(() => {
      this.writing = undefined;
      if (!this.closed && this.hasQueued()) this.commit();
    });
  }
}
