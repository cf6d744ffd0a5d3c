import { CERTIFICATE_BY_NODE, CERTIFICATE_BY_USER } from './certificate-kinds.js';
import type { OverlayStorage } from './overlay-storage.js';
import { bytesEqual } from './resource-id-ring.js';
import type { StorageCredentials } from './storage-credentials.js';

export { CERTIFICATE_BY_NODE, CERTIFICATE_BY_USER };

const APPEND = 0xffffffff;

export interface PublishResult {
  kind: number;
  ok: boolean;
  /** Already there: nothing stored. */
  present: boolean;
  info: string;
}

/**
 * RFC 6940 §8: stores our certificate under CERTIFICATE_BY_NODE (Resource Name: our Node-ID) and
 * CERTIFICATE_BY_USER (our user name), appended to the array unless it is already there. Kinds the
 * configuration lacks are skipped. Never throws.
 */
export async function publishCertificate(storage: OverlayStorage, credentials: StorageCredentials, kinds: (id: number) => unknown): Promise<PublishResult[]> {
  const out: PublishResult[] = [];
  const names: Array<[number, Uint8Array]> = [
    [CERTIFICATE_BY_NODE, credentials.identity.nodeIds[0] ?? new Uint8Array(0)],
    [CERTIFICATE_BY_USER, new TextEncoder().encode(credentials.identity.userName)],
  ];
  for (const [kind, name] of names) {
    if (kinds(kind) === undefined) continue;
    try {
      const ref = { resourceName: name };
      const f = await storage.fetch(kind, ref);
      if (f.ok && f.values.some((v) => v.data.value.value.exists && bytesEqual(v.data.value.value.value, credentials.certificate))) {
        out.push({ kind, ok: true, present: true, info: 'already stored' });
        continue;
      }
      const s = await storage.store(kind, ref, [{ model: 'array', index: APPEND, value: { exists: true, value: credentials.certificate } }]);
      out.push({ kind, ok: s.ok, present: false, info: s.ok ? 'stored' : `error ${s.errorCode}: ${s.info}` });
    } catch (e) {
      out.push({ kind, ok: false, present: false, info: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

