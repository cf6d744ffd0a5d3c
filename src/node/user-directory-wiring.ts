/**
 * Issue 15: the storing peers' half of the user directory, built for a peer whose overlay
 * configuration has the P2PSIP-USER Kind (a closed overlay): the SIP usage's guards
 * (usages/sip/auth/user-directory-guards.ts) registered with the storage engine for P2PSIP-USER,
 * P2PSIP-AUTH-PROOF and P2PSIP-WRITE-GRANT (the last with no guard: outside Stores of grants are
 * always refused; only a verified proof makes one).
 */
import type { OverlayConfiguration } from '../reload/config/index.js';
import { P2PSIP_AUTH_PROOF_KIND_ID, P2PSIP_USER_KIND_ID } from '../reload/config/index.js';
import type { StoredDataValue } from '../reload/codec/index.js';
import type { HashResourceName, KindGuards, OverlayStorage, StorageCredentials } from '../reload/storage/index.js';
import { userResourceName } from '../usages/sip/auth/user-record.js';
import { WRITE_GRANT_KIND_ID } from '../reload/storage/index.js';
import { UserDirectoryGuards, type UserDirectoryGuardOptions } from '../usages/sip/auth/user-directory-guards.js';

/**
 * Open or closed, as the overlay's configuration says: closed when SIP-REGISTRATION takes granted
 * writes only, or when an enrollment server checks digest answers (p2psip:sip-digest-verifier).
 */
export function authModeOf(config: OverlayConfiguration): 'open' | 'closed' {
  return config.kinds.some((k) => k.id === 1 && k.grantedWrites === true) || config.sipDigestVerifier !== undefined ? 'closed' : 'open';
}

/**
 * Issue 16: the overlay's certificates name users (an enrolled overlay: certificates from its CA, no
 * self-signed ones), so what it keeps for a user is sealed to the user's certificates.
 */
export function hasUserCertificates(config: Pick<OverlayConfiguration, 'rootCertificates' | 'selfSignedPermitted'>): boolean {
  return config.rootCertificates.length > 0 && !config.selfSignedPermitted;
}

/** The configuration carries the user directory Kinds (a closed zero-configuration overlay). */
export function hasUserDirectory(config: OverlayConfiguration): boolean {
  return config.kinds.some((k) => k.id === P2PSIP_USER_KIND_ID);
}

export interface DirectoryGuardsWiring {
  guards: KindGuards;
  directory: UserDirectoryGuards;
}

/** The guards, or undefined when the configuration has no user directory. */
export function createDirectoryGuards(o: {
  config: OverlayConfiguration;
  credentials: Pick<StorageCredentials, 'sign'>;
  hashResourceName: HashResourceName;
  wallClock: () => number;
  /** The overlay's SIP domain. */
  realm: string;
  options?: Omit<UserDirectoryGuardOptions, 'realm'>;
}): DirectoryGuardsWiring | undefined {
  if (!o.config.kinds.some((k) => k.id === P2PSIP_USER_KIND_ID)) return undefined;
  let lastTime = 0n;
  const directory = new UserDirectoryGuards(
    {
      hashResourceName: o.hashResourceName,
      signGrant: (resource: Uint8Array, value: StoredDataValue, lifetimeS: number) => {
        // storage_time after every grant we signed (a replica keeps the later one, RFC 6940 §7)
        const now = BigInt(Math.floor(o.wallClock()));
        lastTime = now > lastTime ? now : lastTime + 1n;
        return o.credentials.sign(resource, WRITE_GRANT_KIND_ID, lastTime, lifetimeS, value);
      },
    },
    { ...o.options, realm: o.realm },
  );
  const guards: KindGuards = (kind) => (kind === P2PSIP_USER_KIND_ID ? directory.userGuard : kind === P2PSIP_AUTH_PROOF_KIND_ID ? directory.proofGuard : undefined);
  return { guards, directory };
}

/**
 * Issue 16: is `aor` (sip:user@realm) a user of the closed overlay's directory? A Stat of its user
 * record, which the storing peers answer with existence only (no length, no hash). False on any failure.
 */
export async function userRecordExists(storage: { stat: OverlayStorage['stat'] }, aor: string, realm: string): Promise<boolean> {
  const m = /^sips?:([^@]+)@/i.exec(aor);
  if (m === null) return false;
  try {
    const r = await storage.stat(P2PSIP_USER_KIND_ID, { resourceName: userResourceName(m[1]!, realm) });
    return r.ok && (r.kind?.values ?? []).some((v) => v.metadata.value.exists);
  } catch {
    return false;
  }
}
