/** Issue 16: the CertificateSealing of a running peer (enrolled overlays): its storage, trust and key. */
import type { Clock } from '../lib/clock.js';
import { ReloadErrorCode } from '../reload/codec/index.js';
import { CERTIFICATE_BY_USER } from '../reload/storage/index.js';
import { CertificateSealing } from '../usages/sealing/certificate-sealing.js';
import type { RunningOverlay } from './overlay-service.js';

export function userCertificateSealing(overlay: Pick<RunningOverlay, 'storage' | 'trustedCertificate' | 'prepared'>, clock: Clock): CertificateSealing {
  const identity = overlay.prepared.identity;
  return new CertificateSealing({
    clock,
    fetchUserCertificates: async (userName) => {
      const r = await overlay.storage.fetch(CERTIFICATE_BY_USER, { resourceName: userName });
      if (!r.ok) return r.errorCode === ReloadErrorCode.NotFound ? { ok: true, ders: [] } : { ok: false, info: r.info };
      const ders: Uint8Array[] = [];
      for (const { data } of r.values) if (data.value.model === 'array' && data.value.value.exists) ders.push(data.value.value.value);
      return { ok: true, ders };
    },
    trusted: (der) => overlay.trustedCertificate(der),
    self: { certificateHash: identity.certificate.hash, privateKey: identity.keys.privateKey },
  });
}
