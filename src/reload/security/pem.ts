import { SecurityError } from './security-error.js';

/** PEM text of a DER certificate. */
export function certificateToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

/** DER of every `label` block of a PEM text (default CERTIFICATE); {@link SecurityError} when there is none. */
export function pemBlocks(pem: string, label = 'CERTIFICATE'): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`, 'g');
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(re)) out.push(new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
  if (out.length === 0) throw new SecurityError('CERT_INVALID', `no PEM ${label} block`);
  return out;
}

/** DER of the first certificate of a PEM text. */
export function certificateFromPem(pem: string): Uint8Array {
  return pemBlocks(pem)[0]!;
}
