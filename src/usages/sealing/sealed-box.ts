/**
 * Sealed values (issue 16): what the overlay keeps for a user, encrypted to the user's certificates
 * so that only a peer holding one of their private keys reads it. Used for kept messages and
 * voicemail in enrolled overlays (user-sealing.ts); the storing peers see the envelope only.
 *
 * A hybrid envelope, small enough for a RELOAD value (a value, its signature and certificate fit one
 * 5,000-byte message):
 *
 *   magic      'P2SB'
 *   u8         version (1)
 *   u8         n, the recipients (1..MAX_SEALED_RECIPIENTS)
 *   n ×        u8[32] SHA-256 of the recipient's certificate (DER)
 *              u8     algorithm: 1 RSA-OAEP (SHA-256, MGF1-SHA-256) of the content key;
 *                                2 ECDH-ES on P-256: an ephemeral key, HKDF-SHA-256 of the shared
 *                                  secret (salt: the certificate hash, info: 'p2psip sealed-box v1'
 *                                  and the ephemeral point) gives a key-encryption key, and the
 *                                  content key is AES-256-GCM encrypted under it (zero IV: the key
 *                                  is used once), its tag bound to the certificate hash
 *              u16    length, then the wrapped key (RSA: the modulus size; ECDH: 65 + 32 + 16)
 *   u8[12]     IV
 *   ...        AES-256-GCM ciphertext of the plaintext, then its 16-byte tag
 *
 * The content's additional data is the caller's `aad` (what the value is and where it is stored,
 * e.g. `P2PSIP-MESSAGE alice@example.org <key>`), then every envelope byte before the ciphertext:
 * a value moved to another user or key, or a recipient list changed, does not open.
 *
 * Chunks of one voicemail share a content key (sealed once, in its index entry) and are sealed with
 * {@link sealWithKey}: IV ‖ ciphertext ‖ tag, their additional data naming the chunk.
 */
import { createCipheriv, createDecipheriv, createHash, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, privateDecrypt, publicEncrypt, randomBytes, constants as cryptoConstants, type KeyObject } from 'node:crypto';
import { P2psipError } from '../../lib/errors.js';
import { bytesEqual } from '../../lib/bytes.js';

export const SEALED_MAGIC = Uint8Array.of(0x50, 0x32, 0x53, 0x42); // 'P2SB'
export const SEALED_VERSION = 1;
/** Most recipients (certificates of one user) an envelope names: a user with more devices uses the newest. */
export const MAX_SEALED_RECIPIENTS = 4;
export const ALG_RSA_OAEP = 1;
export const ALG_ECDH_P256 = 2;
const HASH_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const EC_POINT_BYTES = 65;
const ECDH_WRAPPED_BYTES = EC_POINT_BYTES + KEY_BYTES + TAG_BYTES;
/** Longest wrapped key accepted (RSA up to 4096 bits). */
const MAX_WRAPPED_BYTES = 512;
const HKDF_INFO = new TextEncoder().encode('p2psip sealed-box v1');
/** Bytes {@link sealWithKey} adds: IV and tag. */
export const SEALED_CHUNK_OVERHEAD = IV_BYTES + TAG_BYTES;

export type SealedBoxErrorCode = 'SEALED_MALFORMED' | 'SEALED_NOT_FOR_US' | 'SEALED_INVALID' | 'SEALED_BAD_KEY';

export class SealedBoxError extends P2psipError {
  declare readonly code: SealedBoxErrorCode;

  constructor(code: SealedBoxErrorCode, message: string) {
    super(code, message);
    this.name = 'SealedBoxError';
  }
}

/** A recipient: its certificate's SHA-256 and public key (RSA of at least 2048 bits, or EC P-256). */
export interface SealRecipient {
  certificateHash: Uint8Array;
  publicKey: KeyObject;
}

/** Our side: our certificate's SHA-256 and private key. */
export interface SealOpener {
  certificateHash: Uint8Array;
  privateKey: KeyObject;
}

export interface SealedHeader {
  recipients: Array<{ certificateHash: Uint8Array; algorithm: number; wrapped: Uint8Array }>;
  iv: Uint8Array;
  /** Bytes before the ciphertext (bound into the additional data). */
  headerLength: number;
  /** Ciphertext and tag. */
  body: Uint8Array;
}

function algorithmOf(key: KeyObject): number {
  if (key.asymmetricKeyType === 'rsa') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new SealedBoxError('SEALED_BAD_KEY', 'an RSA recipient key has at least 2048 bits');
    return ALG_RSA_OAEP;
  }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return ALG_ECDH_P256;
  throw new SealedBoxError('SEALED_BAD_KEY', `a recipient key is RSA or EC P-256, not ${String(key.asymmetricKeyType)}`);
}

function ecPoint(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x ?? '', 'base64url');
  const y = Buffer.from(jwk.y ?? '', 'base64url');
  if (x.length !== 32 || y.length !== 32) throw new SealedBoxError('SEALED_BAD_KEY', 'not a P-256 point');
  return Uint8Array.from([0x04, ...x, ...y]);
}

function ecKeyOfPoint(point: Uint8Array): KeyObject {
  if (point.length !== EC_POINT_BYTES || point[0] !== 0x04) throw new SealedBoxError('SEALED_INVALID', 'the ephemeral key is not an uncompressed P-256 point');
  try {
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(point.subarray(1, 33)).toString('base64url'), y: Buffer.from(point.subarray(33)).toString('base64url') }, format: 'jwk' });
  } catch {
    throw new SealedBoxError('SEALED_INVALID', 'the ephemeral key is not on P-256');
  }
}

function kek(shared: Uint8Array, certificateHash: Uint8Array, point: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, certificateHash, Buffer.concat([HKDF_INFO, point]), KEY_BYTES));
}

function gcmEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  c.setAAD(aad);
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

function gcmDecrypt(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  if (sealed.length < TAG_BYTES) return undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return new Uint8Array(Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG_BYTES)), d.final()]));
  } catch {
    return undefined;
  }
}

function wrapKey(cek: Uint8Array, r: SealRecipient): { algorithm: number; wrapped: Uint8Array } {
  const algorithm = algorithmOf(r.publicKey);
  if (algorithm === ALG_RSA_OAEP) {
    return { algorithm, wrapped: new Uint8Array(publicEncrypt({ key: r.publicKey, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek)) };
  }
  const eph = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const point = ecPoint(eph.publicKey);
  const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: r.publicKey });
  const enc = gcmEncrypt(kek(shared, r.certificateHash, point), new Uint8Array(IV_BYTES), cek, r.certificateHash);
  const wrapped = new Uint8Array(ECDH_WRAPPED_BYTES);
  wrapped.set(point, 0);
  wrapped.set(enc, EC_POINT_BYTES);
  return { algorithm, wrapped };
}

function unwrapKey(algorithm: number, wrapped: Uint8Array, me: SealOpener): Uint8Array | undefined {
  if (algorithm === ALG_RSA_OAEP) {
    if (me.privateKey.asymmetricKeyType !== 'rsa') return undefined;
    try {
      const cek = privateDecrypt({ key: me.privateKey, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped);
      return cek.length === KEY_BYTES ? new Uint8Array(cek) : undefined;
    } catch {
      return undefined;
    }
  }
  if (algorithm !== ALG_ECDH_P256 || me.privateKey.asymmetricKeyType !== 'ec' || wrapped.length !== ECDH_WRAPPED_BYTES) return undefined;
  const point = wrapped.subarray(0, EC_POINT_BYTES);
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: me.privateKey, publicKey: ecKeyOfPoint(point) });
  } catch {
    return undefined;
  }
  const cek = gcmDecrypt(kek(shared, me.certificateHash, point), new Uint8Array(IV_BYTES), wrapped.subarray(EC_POINT_BYTES), me.certificateHash);
  return cek?.length === KEY_BYTES ? cek : undefined;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** A fresh 32-byte content key. */
export function newContentKey(): Uint8Array {
  return new Uint8Array(randomBytes(KEY_BYTES));
}

/**
 * Seals `plaintext` to `recipients` (1..MAX_SEALED_RECIPIENTS) with a fresh content key (or `cek`),
 * bound to `aad`. Throws SealedBoxError (SEALED_BAD_KEY) for a key that cannot be a recipient.
 */
export function seal(recipients: readonly SealRecipient[], plaintext: Uint8Array, aad: Uint8Array, cek: Uint8Array = newContentKey()): Uint8Array {
  if (recipients.length < 1 || recipients.length > MAX_SEALED_RECIPIENTS) throw new SealedBoxError('SEALED_BAD_KEY', `an envelope has 1 to ${MAX_SEALED_RECIPIENTS} recipients, not ${recipients.length}`);
  if (cek.length !== KEY_BYTES) throw new SealedBoxError('SEALED_BAD_KEY', `a content key has ${KEY_BYTES} bytes`);
  const parts: Uint8Array[] = [SEALED_MAGIC, Uint8Array.of(SEALED_VERSION, recipients.length)];
  for (const r of recipients) {
    if (r.certificateHash.length !== HASH_BYTES) throw new SealedBoxError('SEALED_BAD_KEY', `a certificate hash has ${HASH_BYTES} bytes`);
    const { algorithm, wrapped } = wrapKey(cek, r);
    const head = new Uint8Array(HASH_BYTES + 3);
    head.set(r.certificateHash, 0);
    head[HASH_BYTES] = algorithm;
    new DataView(head.buffer).setUint16(HASH_BYTES + 1, wrapped.length);
    parts.push(head, wrapped);
  }
  parts.push(new Uint8Array(randomBytes(IV_BYTES)));
  const header = Buffer.concat(parts);
  const body = gcmEncrypt(cek, header.subarray(header.length - IV_BYTES), plaintext, concat(aad, header));
  return new Uint8Array(Buffer.concat([header, body]));
}

/** True when `bytes` begins like a sealed value (the guards' and readers' switch). */
export function looksSealed(bytes: Uint8Array): boolean {
  return bytes.length >= SEALED_MAGIC.length && SEALED_MAGIC.every((b, i) => bytes[i] === b);
}

/** Reads an envelope's structure (no key needed: what a storing peer checks). Throws SEALED_MALFORMED. */
export function readSealedHeader(bytes: Uint8Array): SealedHeader {
  const bad = (why: string): SealedBoxError => new SealedBoxError('SEALED_MALFORMED', `not a sealed value: ${why}`);
  if (!looksSealed(bytes)) throw bad("no 'P2SB' magic");
  if (bytes.length < 6) throw bad('truncated header');
  if (bytes[4] !== SEALED_VERSION) throw bad(`version ${bytes[4]}, only ${SEALED_VERSION} is known`);
  const n = bytes[5]!;
  if (n < 1 || n > MAX_SEALED_RECIPIENTS) throw bad(`${n} recipients, 1 to ${MAX_SEALED_RECIPIENTS}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 6;
  const recipients: SealedHeader['recipients'] = [];
  for (let i = 0; i < n; i++) {
    if (at + HASH_BYTES + 3 > bytes.length) throw bad(`recipient ${i} truncated`);
    const certificateHash = bytes.subarray(at, at + HASH_BYTES);
    const algorithm = bytes[at + HASH_BYTES]!;
    const len = view.getUint16(at + HASH_BYTES + 1);
    at += HASH_BYTES + 3;
    if (algorithm !== ALG_RSA_OAEP && algorithm !== ALG_ECDH_P256) throw bad(`recipient ${i}: unknown algorithm ${algorithm}`);
    if (algorithm === ALG_ECDH_P256 ? len !== ECDH_WRAPPED_BYTES : len < 256 || len > MAX_WRAPPED_BYTES) throw bad(`recipient ${i}: a wrapped key of ${len} bytes`);
    if (at + len > bytes.length) throw bad(`recipient ${i} truncated`);
    recipients.push({ certificateHash, algorithm, wrapped: bytes.subarray(at, at + len) });
    at += len;
  }
  if (at + IV_BYTES + TAG_BYTES > bytes.length) throw bad('no room for the IV and tag');
  const iv = bytes.subarray(at, at + IV_BYTES);
  at += IV_BYTES;
  return { recipients, iv, headerLength: at, body: bytes.subarray(at) };
}

/**
 * Opens a sealed value with our key: the plaintext and the content key. Throws SealedBoxError:
 * SEALED_MALFORMED (not an envelope), SEALED_NOT_FOR_US (no recipient is our certificate),
 * SEALED_INVALID (our key does not open it, or it was changed, or `aad` differs).
 */
export function openSealed(bytes: Uint8Array, me: SealOpener, aad: Uint8Array): { plaintext: Uint8Array; contentKey: Uint8Array } {
  const h = readSealedHeader(bytes);
  const mine = h.recipients.find((r) => bytesEqual(r.certificateHash, me.certificateHash));
  if (mine === undefined) throw new SealedBoxError('SEALED_NOT_FOR_US', 'sealed to other certificates than ours');
  const cek = unwrapKey(mine.algorithm, mine.wrapped, me);
  if (cek === undefined) throw new SealedBoxError('SEALED_INVALID', 'our key does not open the content key');
  const plaintext = gcmDecrypt(cek, h.iv, h.body, concat(aad, bytes.subarray(0, h.headerLength)));
  if (plaintext === undefined) throw new SealedBoxError('SEALED_INVALID', 'the content does not authenticate (changed, or moved from where it was sealed)');
  return { plaintext, contentKey: cek };
}

/** Seals one piece (a voicemail chunk) with a content key already sealed elsewhere: IV ‖ ciphertext ‖ tag. */
export function sealWithKey(cek: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  if (cek.length !== KEY_BYTES) throw new SealedBoxError('SEALED_BAD_KEY', `a content key has ${KEY_BYTES} bytes`);
  const iv = new Uint8Array(randomBytes(IV_BYTES));
  return concat(iv, gcmEncrypt(cek, iv, plaintext, aad));
}

/** Opens a {@link sealWithKey} piece; SEALED_INVALID when it does not authenticate. */
export function openWithKey(cek: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  if (cek.length !== KEY_BYTES) throw new SealedBoxError('SEALED_BAD_KEY', `a content key has ${KEY_BYTES} bytes`);
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new SealedBoxError('SEALED_MALFORMED', `a sealed piece has at least ${IV_BYTES + TAG_BYTES} bytes`);
  const out = gcmDecrypt(cek, sealed.subarray(0, IV_BYTES), sealed.subarray(IV_BYTES), aad);
  if (out === undefined) throw new SealedBoxError('SEALED_INVALID', 'the piece does not authenticate (changed, or moved from where it was sealed)');
  return out;
}

/** SHA-256 of a certificate's DER (the envelope's recipient name; = the RFC 6940 cert_hash). */
export function certificateHashOf(der: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(der).digest());
}
