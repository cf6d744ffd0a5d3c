// Shared fixtures of the security tests: a CA, enrolled and self-signed identities (ECDSA for speed).
import { SeededRandom } from '../../../../src/lib/random.js';
import {
  CertificateStore,
  createOverlayCa,
  createSelfSignedIdentity,
  issueCaSignedIdentity,
} from '../../../../src/reload/security/index.js';
import type { NodeIdentity, OverlayCa, TrustPolicy } from '../../../../src/reload/security/index.js';

export const OVERLAY = 'test.p2psip';
/** A fixed wall-clock instant for certificate validity. */
export const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

export function nodeId(byte: number, length = 16): Uint8Array {
  return new Uint8Array(length).fill(byte);
}

export async function makeCa(seed = 1): Promise<OverlayCa> {
  return createOverlayCa({ overlay: OVERLAY, now: NOW, random: new SeededRandom(seed), algorithm: 'ecdsa-p256' });
}

export async function enrolledIdentity(ca: OverlayCa, ids: Uint8Array[], userName = 'alice@test.p2psip', seed = 2): Promise<NodeIdentity> {
  return issueCaSignedIdentity(ca, { overlay: OVERLAY, userName, nodeIds: ids, now: NOW, random: new SeededRandom(seed), algorithm: 'ecdsa-p256' });
}

export async function selfSigned(userName = 'bob@test.p2psip', seed = 3, nodeIdCount = 1): Promise<NodeIdentity> {
  return createSelfSignedIdentity({ overlay: OVERLAY, userName, now: NOW, random: new SeededRandom(seed), algorithm: 'ecdsa-p256', nodeIdCount });
}

export function policy(over: Partial<TrustPolicy> = {}): TrustPolicy {
  return { overlay: OVERLAY, rootCertificates: [], selfSignedPermitted: false, selfSignedDigest: 'sha256', nodeIdLength: 16, ...over };
}

export function storeFor(p: TrustPolicy, now = NOW, maxEntries?: number): CertificateStore {
  return new CertificateStore(p, { now: () => now, ...(maxEntries === undefined ? {} : { maxEntries }) });
}
