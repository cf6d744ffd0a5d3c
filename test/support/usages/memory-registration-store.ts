/**
 * An in-memory RegistrationDirectory shared by several peers (unit and in-process tests): one
 * table keyed by AoR then Node-ID, entries expiring on the injected clock.
 */
import type { Clock } from '../../../src/lib/clock.js';
import type { SipRegistration } from '../../../src/reload/codec/index.js';
import type { RegistrationDirectory, RegistrationEntry } from '../../../src/usages/sip/registration-directory.js';

interface Stored {
  nodeId: Uint8Array;
  value: SipRegistration;
  expiresAt: number;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** The shared table; `forNode` gives one peer's view (its writes are keyed by its Node-ID). */
export class MemoryRegistrationStore {
  readonly table = new Map<string, Map<string, Stored>>();
  /** Calls made, for tests. */
  readonly log: Array<{ op: 'publish' | 'withdraw' | 'lookup'; aor: string; node: string }> = [];
  /** When set, every operation fails with this error (tests of overlay failures). */
  failWith: Error | undefined;
  /** When set, lookups never resolve (tests of the overlay timing out). */
  hang = false;
  /** When set, lookups answer only once it resolves (tests of a slow Fetch). */
  lookupGate: Promise<void> | undefined;
  /** When set, publishes take effect only once it resolves (tests of a slow Store). */
  publishGate: Promise<void> | undefined;

  constructor(private readonly clock: Clock) {}

  forNode(nodeId: Uint8Array): RegistrationDirectory {
    const key = hex(nodeId);
    return {
      publish: (aor, value, lifetimeSec) => {
        this.log.push({ op: 'publish', aor, node: key });
        if (this.failWith) return Promise.reject(this.failWith);
        const apply = (): void => {
          let m = this.table.get(aor);
          if (m === undefined) this.table.set(aor, (m = new Map()));
          m.set(key, { nodeId, value, expiresAt: this.clock.now() + lifetimeSec * 1000 });
        };
        if (this.publishGate !== undefined) return this.publishGate.then(apply);
        apply();
        return Promise.resolve();
      },
      withdraw: (aor) => {
        this.log.push({ op: 'withdraw', aor, node: key });
        if (this.failWith) return Promise.reject(this.failWith);
        const m = this.table.get(aor);
        m?.delete(key);
        if (m?.size === 0) this.table.delete(aor);
        return Promise.resolve();
      },
      lookup: (aor) => {
        this.log.push({ op: 'lookup', aor, node: key });
        if (this.failWith) return Promise.reject(this.failWith);
        if (this.hang) return new Promise<RegistrationEntry[]>(() => {});
        const answer = (): RegistrationEntry[] => {
          const now = this.clock.now();
          const live = [...(this.table.get(aor)?.values() ?? [])].filter((s) => s.expiresAt > now);
          return live.map((s) => ({ nodeId: s.nodeId, value: s.value }));
        };
        return this.lookupGate === undefined ? Promise.resolve(answer()) : this.lookupGate.then(answer);
      },
    };
  }
}
