/**
 * A RecordStore in a Map (unit tests): what a core wrote survives into a "restarted" core built
 * over the same instance. Counts writes; `broken` makes loadAll yield what it is given as is.
 */
import type { RecordStore } from '../../../src/lib/record-store.js';

export class MemoryRecordStore implements RecordStore {
  readonly records = new Map<string, string>();
  puts = 0;
  deletes = 0;

  loadAll(): Iterable<[string, string]> {
    return [...this.records.entries()];
  }

  put(key: string, value: string): void {
    this.puts++;
    this.records.set(key, value);
  }

  delete(key: string): void {
    this.deletes++;
    this.records.delete(key);
  }
}
