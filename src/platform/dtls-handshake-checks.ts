/**
 * The proofs of a DTLS 1.2 handshake that werift-dtls 0.5 computes for its peer but never checks
 * (RFC 5246 §7.4.3, §7.4.8, §7.4.9): the ServerKeyExchange signature (the server holds the key of its
 * certificate), the CertificateVerify signature (so does the client), and the peer's Finished
 * verify_data (the transcript was not tampered with). Without them the certificates exchanged prove
 * nothing — anyone could present a peer's (public) certificate. Pure functions over the handshake
 * messages werift caches; node:crypto only. Each returns a refusal reason, or undefined when sound.
 */
import { X509Certificate, createHmac, createHash, timingSafeEqual, verify as verifySignatureBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** RFC 5246 §7.4 handshake types used here. */
export const HandshakeType = {
  client_hello: 1,
  server_hello: 2,
  certificate: 11,
  server_key_exchange: 12,
  certificate_request: 13,
  server_hello_done: 14,
  certificate_verify: 15,
  client_key_exchange: 16,
  finished: 20,
} as const;

/** A handshake message as werift keeps it: its body, and its serialisation with the DTLS handshake header. */
export interface CachedHandshake {
  msg_type: number;
  fragment: Uint8Array;
  serialize(): Uint8Array;
}

const SHA256 = 4;
const RSA = 1;
const ECDSA = 3;

/** RFC 6347 §4.2.6: the handshake hash input is every message as if sent in one fragment, in order. */
export function transcriptOf(messages: readonly CachedHandshake[]): Buffer {
  return Buffer.concat(messages.map((m) => m.serialize()));
}

/** RFC 5246 §5: PRF(secret, label, seed) = P_SHA256(secret, label + seed), `length` bytes. */
export function prfSha256(secret: Uint8Array, label: string, seed: Uint8Array, length: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'ascii'), seed]);
  const out: Buffer[] = [];
  let a: Buffer = labelSeed;
  let have = 0;
  while (have < length) {
    a = createHmac('sha256', secret).update(a).digest();
    const block = createHmac('sha256', secret).update(a).update(labelSeed).digest();
    out.push(block);
    have += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** RFC 5246 §7.4.9: whether `verifyData` is the Finished of `label` over `messages`. */
export function checkFinished(masterSecret: Uint8Array | undefined, label: 'client finished' | 'server finished', messages: readonly CachedHandshake[], verifyData: Uint8Array): string | undefined {
  if (masterSecret === undefined || masterSecret.length === 0) return 'no master secret';
  const expected = prfSha256(masterSecret, label, createHash('sha256').update(transcriptOf(messages)).digest(), 12);
  if (verifyData.length !== 12 || !timingSafeEqual(expected, verifyData)) return `the peer's Finished (${label}) does not match the handshake`;
  return undefined;
}

/**
 * RFC 4492 §5.4 / RFC 5246 §7.4.3: the ServerKeyExchange (named curve) is signed over
 * client_random + server_random + ServerECDHParams with the key of the server's certificate.
 */
export function checkServerKeyExchange(messages: readonly CachedHandshake[], serverCertificate: Uint8Array): string | undefined {
  const ch = find(messages, HandshakeType.client_hello);
  const sh = find(messages, HandshakeType.server_hello);
  const ske = find(messages, HandshakeType.server_key_exchange);
  if (ch === undefined || sh === undefined || ske === undefined) return 'ClientHello, ServerHello or ServerKeyExchange missing';
  const b = ske.fragment;
  if (b.length < 4 || b[0] !== 3) return 'ServerKeyExchange is not ECDHE with a named curve';
  const paramsLength = 4 + b[3]!;
  if (b.length < paramsLength + 4) return 'ServerKeyExchange truncated';
  const hash = b[paramsLength]!;
  const sig = b[paramsLength + 1]!;
  const sigLength = (b[paramsLength + 2]! << 8) | b[paramsLength + 3]!;
  if (b.length !== paramsLength + 4 + sigLength) return 'ServerKeyExchange signature length mismatch';
  const signed = Buffer.concat([randomOf(ch.fragment), randomOf(sh.fragment), b.subarray(0, paramsLength)]);
  const why = verifyWith(serverCertificate, hash, sig, signed, b.subarray(paramsLength + 4));
  return why === undefined ? undefined : `ServerKeyExchange: ${why}`;
}

/**
 * RFC 5246 §7.4.8: the CertificateVerify is signed over every handshake message before it with the
 * key of the client's certificate. `messages` in transcript order; the CertificateVerify among them.
 */
export function checkCertificateVerify(messages: readonly CachedHandshake[], clientCertificate: Uint8Array): string | undefined {
  const at = messages.findIndex((m) => m.msg_type === HandshakeType.certificate_verify);
  if (at < 0) return 'no CertificateVerify';
  const b = messages[at]!.fragment;
  if (b.length < 4) return 'CertificateVerify truncated';
  const sigLength = (b[2]! << 8) | b[3]!;
  if (b.length !== 4 + sigLength) return 'CertificateVerify signature length mismatch';
  const why = verifyWith(clientCertificate, b[0]!, b[1]!, transcriptOf(messages.slice(0, at)), b.subarray(4));
  return why === undefined ? undefined : `CertificateVerify: ${why}`;
}

export function find(messages: readonly CachedHandshake[], type: number): CachedHandshake | undefined {
  return messages.find((m) => m.msg_type === type);
}

/** Bytes 2..34 of a ClientHello or ServerHello body (after the version). */
function randomOf(hello: Uint8Array): Uint8Array {
  return hello.subarray(2, 34);
}

// Only what werift signs with: RSA PKCS#1 v1.5 or ECDSA, both over SHA-256 (RFC 5246 §7.4.1.4.1).
function verifyWith(certificate: Uint8Array, hash: number, sig: number, data: Uint8Array, signature: Uint8Array): string | undefined {
  if (hash !== SHA256) return `hash algorithm ${hash} is not sha256`;
  let key: KeyObject;
  try {
    key = new X509Certificate(certificate).publicKey;
  } catch (e) {
    return `unreadable certificate (${(e as Error).message})`;
  }
  const type = key.asymmetricKeyType;
  if (!((sig === RSA && type === 'rsa') || (sig === ECDSA && type === 'ec'))) return `signature algorithm ${sig} does not fit the ${String(type)} key of the certificate`;
  try {
    return verifySignatureBytes('sha256', data, key, signature) ? undefined : 'the signature does not verify with the certificate key';
  } catch (e) {
    return `malformed signature (${(e as Error).message})`;
  }
}

/**
 * The peer's certificate in werift's handshake cache: the client reads the Certificate before
 * ServerHelloDone, the server the one after. 'absent': no Certificate message (yet); undefined: an
 * empty or malformed one.
 */
export function peerCertificateIn(cache: readonly CachedHandshake[], role: 'client' | 'server'): Uint8Array | 'absent' | undefined {
  const done = cache.findIndex((m) => m.msg_type === HandshakeType.server_hello_done);
  const msg = cache.find((m, i) => m.msg_type === HandshakeType.certificate && (role === 'client' ? done < 0 || i < done : done >= 0 && i > done));
  if (msg === undefined) return 'absent';
  // RFC 5246 §7.4.2: certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>; the first is the peer's
  const b = msg.fragment;
  if (b.length < 6) return undefined;
  const len = (b[3]! << 16) | (b[4]! << 8) | b[5]!;
  if (len === 0 || 6 + len > b.length) return undefined;
  return new Uint8Array(b.subarray(6, 6 + len));
}
