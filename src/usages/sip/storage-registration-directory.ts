/**
 * RegistrationDirectory over the overlay's storage (RFC 7904 §3 on RFC 6940 §7): SIP-REGISTRATION
 * (Kind-ID 1) dictionary entries keyed by our Node-ID under the AoR's Resource Name `user@domain`
 * (hashed by the overlay). A withdraw stores the key with exists = false (RFC 6940 §7.4.1.1).
 * `SipRegistrationStorage` is the part of the overlay storage client (OverlayStorage) used here.
 *
 * USER-NODE-MATCH (RFC 6940 §7.3.3) lets a Store through only when our certificate's user name is
 * the AoR's `user@domain` and the key is our Node-ID: one user per peer, as an enrollment server
 * issues them. A peer serving several phones with one certificate (the P2PSIP "proxy peer",
 * `peer@<overlay>` in a self-signed overlay) is refused by the storing peer: such a Store fails
 * with the RELOAD error's text (RegistrationStoreError 'refused'), and the phone's REGISTER with 500.
 */
import { decodeSipRegistration, encodeSipRegistration, ReloadErrorCode } from '../../reload/codec/index.js';
import type { SipRegistration, StoredData, StoredDataValue } from '../../reload/codec/index.js';
import { LocationLookupError } from '../../sip/core/location-service.js';
import { aorResourceName } from './aor-resource-id.js';
import type { RegistrationDirectory, RegistrationEntry } from './registration-directory.js';
import { SIP_REGISTRATION_KIND_ID } from './registration-directory.js';
import { RegistrationStoreError, storeFailureOf, storeFailureText } from './registration-store-error.js';
import { SipUsageError } from './sip-usage-error.js';

type Failure = { ok: false; errorCode: number; info: string };

export interface SipRegistrationStorage {
  store(kindId: number, ref: { resourceName: string }, values: readonly StoredDataValue[], opts?: { lifetime?: number }): Promise<{ ok: true } | Failure>;
  fetch(kindId: number, ref: { resourceName: string }, sel?: { keys?: Uint8Array[] }): Promise<{ ok: true; values: Array<{ data: StoredData }> } | Failure>;
}

export interface StorageDirectoryDeps {
  storage: SipRegistrationStorage;
  selfNodeId: Uint8Array;
  nodeIdLength: number;
}

/** Longest tombstone lifetime, s (a day: longer than any registration or static Store we make). */
export const MAX_TOMBSTONE_SEC = 86_400;

/** Most entries taken from one fetch (the Kind's max-count bounds it at the storing peer too). */
export const MAX_REGISTRATIONS_PER_AOR = 64;

export class StorageRegistrationDirectory implements RegistrationDirectory {
  constructor(private readonly deps: StorageDirectoryDeps) {}

  async publish(aor: string, value: SipRegistration, lifetimeSec: number): Promise<void> {
    const bytes = encodeSipRegistration(value, { nodeIdLength: this.deps.nodeIdLength });
    await this.put(aor, { exists: true, value: bytes }, lifetimeSec);
  }

  async withdraw(aor: string, remainingSec = 0): Promise<void> {
    // RFC 6940 §7.4.1.1: the tombstone outlives what is left of the value it replaces (so a stale
    // replica cannot bring it back), and lives at least a minute so replicas learn of the removal
    const lifetime = Math.min(MAX_TOMBSTONE_SEC, Math.max(60, Math.ceil(Number.isFinite(remainingSec) ? remainingSec : 0)));
    await this.put(aor, { exists: false, value: new Uint8Array(0) }, lifetime);
  }

  async lookup(aor: string): Promise<RegistrationEntry[]> {
    const r = await this.deps.storage.fetch(SIP_REGISTRATION_KIND_ID, { resourceName: aorResourceName(aor) }, { keys: [] });
    if (!r.ok) {
      if (r.errorCode === ReloadErrorCode.NotFound) return [];
      // errorCode 0: no answer at all after the retransmissions (RFC 6940 §6.2.1)
      if (r.errorCode === 0 || r.errorCode === ReloadErrorCode.RequestTimeout) {
        throw new LocationLookupError('overlay-timeout', `the overlay did not answer the Fetch (${r.info})`, 408, 'Request Timeout');
      }
      throw new SipUsageError('overlay-error', `Fetch failed: ${r.info}`);
    }
    const out: RegistrationEntry[] = [];
    for (const { data } of r.values) {
      if (out.length >= MAX_REGISTRATIONS_PER_AOR) break;
      const v = data.value;
      if (v.model !== 'dictionary' || !v.value.exists || v.key.length !== this.deps.nodeIdLength) continue;
      const d = decodeSipRegistration(v.value.value, { nodeIdLength: this.deps.nodeIdLength });
      if (d.ok) out.push({ nodeId: v.key, value: d.value });
    }
    return out;
  }

  private async put(aor: string, value: { exists: boolean; value: Uint8Array }, lifetime: number): Promise<void> {
    const entry: StoredDataValue = { model: 'dictionary', key: this.deps.selfNodeId, value };
    const r = await this.deps.storage.store(SIP_REGISTRATION_KIND_ID, { resourceName: aorResourceName(aor) }, [entry], { lifetime });
    if (!r.ok) {
      const detail = storeFailureText(r.errorCode, r.info);
      throw new RegistrationStoreError(storeFailureOf(r.errorCode), `Store of ${aor} failed: ${detail}`, r.errorCode, detail);
    }
  }
}
