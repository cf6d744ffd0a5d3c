/**
 * Signatures this process made, remembered so that it does not verify them again (issue 18: a new
 * REGISTER at a peer responsible for its AoR verified its own Store's message signature and its own
 * value's signature, two ECDSA verifications, ~140 µs each on the bench machine, a third of the
 * crypto of a REGISTER). The memo is keyed by SHA-256 of (the public key's SPKI hash, the signed
 * bytes, the signature): a hit means that exact signature over exactly those bytes was produced with
 * the private key of exactly that public key here, which is what verification would establish. Any
 * other triple — one changed byte of data or signature, another key — misses and is verified.
 * Bounded: the oldest entries are forgotten first (a forgotten one is simply verified).
 */
import { createHash, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** Signatures remembered at most (each ~120 bytes with the map's overhead). */
export const SIGNATURE_MEMO_ENTRIES = 4096;

export class SignatureMemo {
  private readonly made = new Set<string>();
  private readonly keyIds = new WeakMap<KeyObject, Buffer>();
  /** Verifications answered from the memo. */
  hits = 0;

  constructor(readonly capacity = SIGNATURE_MEMO_ENTRIES) {
    if (!(Number.isInteger(capacity) && capacity >= 0)) throw new RangeError('SignatureMemo capacity must be a whole number >= 0');
  }

  get size(): number {
    return this.made.size;
  }

  /** Remembers a signature just made with `privateKey` over `data`. */
  remember(privateKey: KeyObject, data: Uint8Array, signature: Uint8Array): void {
    if (this.capacity === 0) return;
    const k = this.key(privateKey, data, signature);
    if (this.made.has(k)) return;
    if (this.made.size >= this.capacity) {
      const oldest = this.made.values().next();
      if (oldest.done !== true) this.made.delete(oldest.value);
    }
    this.made.add(k);
  }

  /** True when this exact signature over `data` was made here with the private half of `publicKey`. */
  madeHere(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
    if (this.made.size === 0) return false;
    const hit = this.made.has(this.key(publicKey, data, signature));
    if (hit) this.hits++;
    return hit;
  }

  /** Forgets everything (tests). */
  clear(): void {
    this.made.clear();
    this.hits = 0;
  }

  private key(key: KeyObject, data: Uint8Array, signature: Uint8Array): string {
    const h = createHash('sha256').update(this.keyId(key));
    // lengths first: (data, signature) splits are unambiguous
    const lengths = Buffer.alloc(8);
    lengths.writeUInt32BE(data.length, 0);
    lengths.writeUInt32BE(signature.length, 4);
    return h.update(lengths).update(data).update(signature).digest('base64');
  }

  /** SHA-256 of the public key's SPKI DER, for a public or a private key (computed once per KeyObject). */
  private keyId(key: KeyObject): Buffer {
    let id = this.keyIds.get(key);
    if (id === undefined) {
      const pub = key.type === 'private' ? createPublicKey(key) : key;
      id = createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest();
      this.keyIds.set(key, id);
    }
    return id;
  }
}

/** The process's memo, used by signBytes / verifyBytes. */
export const signatureMemo = new SignatureMemo();
