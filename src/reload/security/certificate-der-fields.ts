/**
 * The few fields of an X.509 certificate (RFC 5280 §4.1) that node:crypto's X509Certificate does not
 * give as data: the subjectAltName names (§4.2.1.6), BasicConstraints cA (§4.2.1.9) and the DER
 * SubjectPublicKeyInfo. A small DER walk: ~20 times faster than a full ASN.1 object parse, which
 * matters because every peer reads the certificate of each peer it hears from (RFC 6940 §6.3.4).
 * Called on DER that node:crypto has already parsed; still checks every length and throws only
 * {@link SecurityError} 'CERT_INVALID'.
 */
import { SecurityError } from './security-error.js';

export interface CertificateDerFields {
  uris: string[];
  emails: string[];
  dnsNames: string[];
  ips: string[];
  isCa: boolean;
  /** DER SubjectPublicKeyInfo, as in the certificate. */
  spki: Uint8Array;
}

/** Names of one subjectAltName kept at most (a certificate comes from the network). */
export const MAX_SAN_NAMES = 64;

interface Tlv {
  tag: number;
  /** Offset of the value and of the byte after it. */
  start: number;
  end: number;
  /** Offset of the tag byte (start of the whole element). */
  at: number;
}

const OID_SAN = Uint8Array.of(0x55, 0x1d, 0x11); // 2.5.29.17
const OID_BASIC_CONSTRAINTS = Uint8Array.of(0x55, 0x1d, 0x13); // 2.5.29.19

function bad(what: string): SecurityError {
  return new SecurityError('CERT_INVALID', `malformed certificate: ${what}`);
}

// One DER element at `at` that must end by `limit` (single-byte tags; certificates use no others here).
function tlv(der: Uint8Array, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw bad('truncated element');
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) throw bad('multi-byte tag');
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || start + n > limit) throw bad('length');
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | der[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > limit) throw bad('element longer than its container');
  return { tag, start, end, at };
}

function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.start; p < parent.end; ) {
    const c = tlv(der, p, parent.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

function sameBytes(der: Uint8Array, t: Tlv, want: Uint8Array): boolean {
  if (t.end - t.start !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (der[t.start + i] !== want[i]) return false;
  return true;
}

const latin1 = new TextDecoder('latin1');

function ipText(b: Uint8Array): string {
  if (b.length === 4) return b.join('.');
  if (b.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
    return groups.join(':');
  }
  return Buffer.from(b).toString('hex');
}

/** Reads subjectAltName, BasicConstraints and the SubjectPublicKeyInfo from certificate DER. */
export function readCertificateDerFields(der: Uint8Array): CertificateDerFields {
  const out: CertificateDerFields = { uris: [], emails: [], dnsNames: [], ips: [], isCa: false, spki: new Uint8Array(0) };
  const cert = tlv(der, 0, der.length);
  if (cert.tag !== 0x30) throw bad('not a SEQUENCE');
  const tbs = tlv(der, cert.start, cert.end);
  if (tbs.tag !== 0x30) throw bad('tbsCertificate');
  const fields = children(der, tbs);
  // [0] version (optional), serial, signature, issuer, validity, subject, subjectPublicKeyInfo, …
  const first = fields[0]?.tag === 0xa0 ? 1 : 0;
  const spki = fields[first + 5];
  if (spki === undefined || spki.tag !== 0x30) throw bad('subjectPublicKeyInfo');
  out.spki = der.slice(spki.at, spki.end);
  const extensions = fields.find((f, i) => i > first + 5 && f.tag === 0xa3);
  if (extensions === undefined) return out;
  const list = tlv(der, extensions.start, extensions.end);
  if (list.tag !== 0x30) throw bad('extensions');
  let names = 0;
  for (const ext of children(der, list)) {
    if (ext.tag !== 0x30) throw bad('extension');
    const parts = children(der, ext);
    const oid = parts[0];
    const value = parts[parts.length - 1];
    if (oid === undefined || oid.tag !== 0x06 || value === undefined || value.tag !== 0x04 || parts.length < 2) throw bad('extension');
    if (sameBytes(der, oid, OID_SAN)) {
      const seq = tlv(der, value.start, value.end);
      if (seq.tag !== 0x30) throw bad('subjectAltName');
      for (const n of children(der, seq)) {
        if (++names > MAX_SAN_NAMES) throw bad(`more than ${MAX_SAN_NAMES} subjectAltName names`);
        const bytes = der.subarray(n.start, n.end);
        if (n.tag === 0x86) out.uris.push(latin1.decode(bytes));
        else if (n.tag === 0x81) out.emails.push(latin1.decode(bytes));
        else if (n.tag === 0x82) out.dnsNames.push(latin1.decode(bytes));
        else if (n.tag === 0x87) out.ips.push(ipText(bytes));
      }
    } else if (sameBytes(der, oid, OID_BASIC_CONSTRAINTS)) {
      const seq = tlv(der, value.start, value.end);
      if (seq.tag !== 0x30) throw bad('basicConstraints');
      const ca = children(der, seq)[0];
      out.isCa = ca !== undefined && ca.tag === 0x01 && ca.end - ca.start === 1 && der[ca.start] !== 0;
    }
  }
  return out;
}
