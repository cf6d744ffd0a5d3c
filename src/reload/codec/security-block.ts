import type { CodecOptions } from './codec-options.js';
import { DEFAULT_MAX_MESSAGE_SIZE, Reader } from './reader.js';
import { Writer } from './writer.js';

/** RFC 6091 CertificateType (RFC 6940 §6.3.4 uses X.509 only). */
export const CertificateType = { X509: 0, OpenPGP: 1 } as const;

/** TLS HashAlgorithm (RFC 5246 §7.4.1.4.1), as used by RFC 6940 §6.3.4. */
export const HashAlgorithm = { none: 0, md5: 1, sha1: 2, sha224: 3, sha256: 4, sha384: 5, sha512: 6 } as const;

/** TLS SignatureAlgorithm (RFC 5246 §7.4.1.4.1); RFC 6940 §6.3.4 mandates rsa with sha256. */
export const SignatureAlgorithm = { anonymous: 0, rsa: 1, dsa: 2, ecdsa: 3 } as const;

/** RFC 6940 §6.3.4 SignerIdentityType codes. */
export const SignerIdentityType = { cert_hash: 1, cert_hash_node_id: 2, none: 3 } as const;

/** RFC 6940 §6.3.4 GenericCertificate: a CertificateType and the encoded (DER for X.509) certificate. */
export interface GenericCertificate {
  type: number;
  certificate: Uint8Array;
}

/** TLS SignatureAndHashAlgorithm: hash first, then signature (one byte each). */
export interface SignatureAndHashAlgorithm {
  hash: number;
  signature: number;
}

/**
 * RFC 6940 §6.3.4 SignerIdentity: `cert_hash` = H(certificate), `cert_hash_node_id` =
 * H(NodeId || certificate), `none` (e.g. Store with special values, §7.4.1.1). `unknown` keeps a
 * type this code does not know (4..255), which the RFC lets the structure be extended with.
 */
export type SignerIdentity =
  | { type: 'cert_hash'; hashAlg: number; certificateHash: Uint8Array }
  | { type: 'cert_hash_node_id'; hashAlg: number; certificateNodeIdHash: Uint8Array }
  | { type: 'none' }
  | { type: 'unknown'; code: number; value: Uint8Array };

/** RFC 6940 §6.3.4 Signature (also used inside stored data, §7.1). */
export interface Signature {
  algorithm: SignatureAndHashAlgorithm;
  identity: SignerIdentity;
  signatureValue: Uint8Array;
}

/** RFC 6940 §6.3.4 SecurityBlock: a bag of certificates and the message signature. */
export interface SecurityBlock {
  certificates: GenericCertificate[];
  signature: Signature;
}

/** Reads a SignerIdentity at the reader's position. */
export function readSignerIdentity(r: Reader): SignerIdentity {
  const at = r.offset;
  const code = r.u8('identity_type');
  if (code === 0) r.fail('identity_type', 'invalidSignerIdentityType (0)', at);
  const lengthAt = r.offset;
  const v = r.take(r.u16('length'), 'identity', 'length', lengthAt);
  let id: SignerIdentity;
  switch (code) {
    case SignerIdentityType.cert_hash:
      id = { type: 'cert_hash', hashAlg: v.u8('hash_alg'), certificateHash: v.opaque(1, 'certificate_hash') };
      break;
    case SignerIdentityType.cert_hash_node_id:
      id = { type: 'cert_hash_node_id', hashAlg: v.u8('hash_alg'), certificateNodeIdHash: v.opaque(1, 'certificate_node_id_hash') };
      break;
    case SignerIdentityType.none:
      id = { type: 'none' };
      break;
    default:
      id = { type: 'unknown', code, value: v.bytes(v.remaining, 'value') };
  }
  v.expectEnd();
  return id;
}

/** Writes a SignerIdentity (type, uint16 length, value). */
export function writeSignerIdentity(w: Writer, id: SignerIdentity): void {
  if (typeof id !== 'object' || id === null) w.fail('', 'not a SignerIdentity');
  switch (id.type) {
    case 'cert_hash':
      w.u8(SignerIdentityType.cert_hash, 'identity_type');
      w.prefixed(2, 'length', () => {
        w.u8(id.hashAlg, 'hash_alg');
        w.opaque(1, id.certificateHash, 'certificate_hash');
      });
      return;
    case 'cert_hash_node_id':
      w.u8(SignerIdentityType.cert_hash_node_id, 'identity_type');
      w.prefixed(2, 'length', () => {
        w.u8(id.hashAlg, 'hash_alg');
        w.opaque(1, id.certificateNodeIdHash, 'certificate_node_id_hash');
      });
      return;
    case 'none':
      w.u8(SignerIdentityType.none, 'identity_type');
      w.u16(0, 'length');
      return;
    case 'unknown':
      if (!Number.isInteger(id.code) || id.code < 4 || id.code > 255) w.fail('identity_type', `unknown SignerIdentityType ${String(id.code)} must be 4..255`);
      w.u8(id.code, 'identity_type');
      w.opaque(2, id.value, 'length');
      return;
    default:
      w.fail('identity_type', 'not a SignerIdentity');
  }
}

/** Reads a Signature at the reader's position. */
export function readSignature(r: Reader): Signature {
  const algorithm = { hash: r.u8('algorithm.hash'), signature: r.u8('algorithm.signature') };
  const identity = r.scoped('identity', () => readSignerIdentity(r));
  return { algorithm, identity, signatureValue: r.opaque(2, 'signature_value') };
}

/** Writes a Signature. */
export function writeSignature(w: Writer, s: Signature): void {
  if (typeof s !== 'object' || s === null || typeof s.algorithm !== 'object' || s.algorithm === null) w.fail('', 'not a Signature');
  w.u8(s.algorithm.hash, 'algorithm.hash');
  w.u8(s.algorithm.signature, 'algorithm.signature');
  w.scoped('identity', () => writeSignerIdentity(w, s.identity));
  w.opaque(2, s.signatureValue, 'signature_value');
}

/** Reads a SecurityBlock at the reader's position (RFC 6940 §6.3.4). */
export function readSecurityBlock(r: Reader): SecurityBlock {
  const certificates = r.sub(2, 'certificates').items((c): GenericCertificate => ({ type: c.u8('type'), certificate: c.opaque(2, 'certificate') }));
  const signature = r.scoped('signature', () => readSignature(r));
  return { certificates, signature };
}

/** Writes a SecurityBlock (RFC 6940 §6.3.4). */
export function writeSecurityBlock(w: Writer, b: SecurityBlock): void {
  if (typeof b !== 'object' || b === null) w.fail('', 'not a SecurityBlock');
  w.prefixed(2, 'certificates', () =>
    w.scoped('certificates', () => {
      if (!Array.isArray(b.certificates)) w.fail('', 'not a list');
      b.certificates.forEach((c, i) =>
        w.scoped(`[${i}]`, () => {
          if (typeof c !== 'object' || c === null) w.fail('', 'not a GenericCertificate');
          w.u8(c.type, 'type');
          w.opaque(2, c.certificate, 'certificate');
        }),
      );
    }),
  );
  w.scoped('signature', () => writeSignature(w, b.signature));
}

/** Encodes a SecurityBlock on its own. */
export function encodeSecurityBlock(b: SecurityBlock, options: CodecOptions = {}): Uint8Array {
  const w = new Writer('SecurityBlock', options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
  writeSecurityBlock(w, b);
  return w.finish();
}

/** Decodes exactly one SecurityBlock filling `bytes`; throws {@link CodecError}. */
export function decodeSecurityBlock(bytes: Uint8Array, options: CodecOptions = {}): SecurityBlock {
  const r = new Reader(bytes, 'SecurityBlock', options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
  const b = readSecurityBlock(r);
  r.expectEnd();
  return b;
}

/** Encodes a SignerIdentity on its own (the last part of the signature input, RFC 6940 §6.3.4). */
export function encodeSignerIdentity(id: SignerIdentity): Uint8Array {
  const w = new Writer('SignerIdentity');
  writeSignerIdentity(w, id);
  return w.finish();
}

/**
 * The bytes a message signature covers (RFC 6940 §6.3.4):
 * overlay || transaction_id || MessageContents || SignerIdentity.
 */
export function messageSignatureInput(overlay: number, transactionId: bigint, contents: Uint8Array, identity: SignerIdentity): Uint8Array {
  const w = new Writer('SignatureInput');
  w.u32(overlay, 'overlay');
  w.u64(transactionId, 'transaction_id');
  w.bytes(contents, 'MessageContents');
  writeSignerIdentity(w, identity);
  return w.finish();
}
