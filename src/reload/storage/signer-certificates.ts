import type { SignerIdentity, StoredData } from '../codec/index.js';
import type { StorageBackend } from './storage-backend.js';

/** Backend key prefix of the kept certificates (the engine's records use 's'). */
export const CERTIFICATE_PREFIX = 0x63; // 'c'
/** Most signer certificates kept (default); the oldest go first. */
export const DEFAULT_MAX_SIGNER_CERTIFICATES = 10_000;

function identityKey(id: SignerIdentity): Uint8Array | undefined {
  const [type, value] = id.type === 'cert_hash' ? [1, id.certificateHash] : id.type === 'cert_hash_node_id' ? [2, id.certificateNodeIdHash] : [0, undefined];
  if (value === undefined) return undefined;
  const key = new Uint8Array(2 + value.length);
  key[0] = CERTIFICATE_PREFIX;
  key[1] = type;
  key.set(value, 2);
  return key;
}

const hexOf = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/**
 * The certificates of the signers of values stored here, kept beside the data in the backend
 * (RFC 6940 §8: a peer storing data is obligated to retain the certificates for it): they go into
 * the bags of FetchAns and replica Stores even after the certificate store forgot them or the peer
 * restarted. Bounded; the oldest is dropped first.
 */
export class SignerCertificates {
  private readonly byKey = new Map<string, { key: Uint8Array; der: Uint8Array }>();

  constructor(
    private readonly backend: StorageBackend,
    private readonly max = DEFAULT_MAX_SIGNER_CERTIFICATES,
  ) {
    for (const [key, der] of backend.entries(Uint8Array.of(CERTIFICATE_PREFIX))) this.byKey.set(hexOf(key), { key, der });
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Every kept certificate (to teach the certificate store after a restart). */
  certificates(): Uint8Array[] {
    return [...this.byKey.values()].map((e) => e.der);
  }

  get(data: StoredData): Uint8Array | undefined {
    const key = identityKey(data.signature.identity);
    return key === undefined ? undefined : this.byKey.get(hexOf(key))?.der;
  }

  /** Keeps `der` as the certificate of `data`'s signer. Never throws (a backend failure only loses durability). */
  keep(data: StoredData, der: Uint8Array): void {
    const key = identityKey(data.signature.identity);
    if (key === undefined) return;
    const hex = hexOf(key);
    if (this.byKey.has(hex)) return;
    this.byKey.set(hex, { key, der });
    const ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'delete'; key: Uint8Array }> = [{ type: 'put', key, value: der }];
    while (this.byKey.size > this.max) {
      const [oldest, e] = this.byKey.entries().next().value as [string, { key: Uint8Array }];
      this.byKey.delete(oldest);
      ops.push({ type: 'delete', key: e.key });
    }
    try {
      this.backend.batch(ops);
    } catch {
      // kept in memory; lost on restart
    }
  }
}
