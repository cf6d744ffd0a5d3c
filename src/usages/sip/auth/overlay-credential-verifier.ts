/**
 * The SIP front's CredentialVerifier in the overlay (issue 15): a phone's digest answer is Stored,
 * as a P2PSIP-AUTH-PROOF value signed by this peer, at H(`user@domain`); the responsible peer of
 * that Resource-ID — a storing peer of the user's record, never this front peer — recomputes it
 * (user-directory-guards.ts), answers success or Error_Forbidden with `p2psip-auth:<reason>`, and on
 * success grants this peer's Node-ID the right to write the user's registration. No answer, a
 * timeout or any other error is `unavailable` (the front says 503, never 403).
 */
import type { CredentialVerifier, DigestCredentials, VerifyOutcome } from '../../../sip/auth/credential-verifier.js';
import type { StoredDataValue } from '../../../reload/codec/index.js';
import { ReloadErrorCode } from '../../../reload/codec/index.js';
import type { ClientStoreResult, ResourceRef } from '../../../reload/storage/index.js';
import { P2PSIP_AUTH_PROOF_KIND_ID } from '../../../reload/config/index.js';
import { encodeAuthProof, encodeOwnerClaim } from './auth-proof.js';
import { AUTH_REFUSAL_PREFIX } from './user-directory-guards.js';
import { userNameProblem, userResourceName } from './user-record.js';

/** What the verifier needs of the overlay storage (OverlayStorage has it). */
export interface ProofStore {
  store(kindId: number, ref: ResourceRef, values: readonly StoredDataValue[], opts?: { lifetime?: number }): Promise<ClientStoreResult>;
}

export interface OverlayCredentialVerifierOptions {
  /** The overlay's SIP domain: the only realm answered. */
  realm: string;
}

/** Lifetime given to a proof value (it is not kept; a storing peer that kept it would drop it soon), s. */
export const PROOF_LIFETIME_S = 60;

export class OverlayCredentialVerifier implements CredentialVerifier {
  readonly stats = { asked: 0, ok: 0, refused: 0, unavailable: 0 };
  private readonly realm: string;

  constructor(
    private readonly storage: ProofStore,
    options: OverlayCredentialVerifierOptions,
  ) {
    this.realm = options.realm.toLowerCase();
  }

  async verify(c: DigestCredentials): Promise<VerifyOutcome> {
    this.stats.asked++;
    if (c.realm.toLowerCase() !== this.realm) return this.no('bad-response', `realm ${c.realm} is not ${this.realm}`);
    const at = c.username.lastIndexOf('@');
    const user = at < 0 ? c.username : c.username.slice(0, at);
    if (at >= 0 && c.username.slice(at + 1).toLowerCase() !== this.realm) return this.no('unknown-user', 'the user name names another domain');
    if (userNameProblem(user) !== undefined) return this.no('unknown-user', 'not a user name of the directory');
    let r: ClientStoreResult;
    try {
      r = await this.storage.store(P2PSIP_AUTH_PROOF_KIND_ID, { resourceName: userResourceName(user, this.realm) }, [{ model: 'single', value: { exists: true, value: encodeAuthProof(c) } }], { lifetime: PROOF_LIFETIME_S });
    } catch (e) {
      return this.unavailable(e instanceof Error ? e.message : String(e));
    }
    if (r.ok) {
      this.stats.ok++;
      return { ok: true };
    }
    return r.errorCode === ReloadErrorCode.Forbidden ? this.fromRefusal(r.info) : this.unavailable(`RELOAD error ${r.errorCode}: ${r.info}`);
  }

  /**
   * Static registrations (`--static`) in a closed overlay: claims the write grant of `aor` as the
   * owner of its user record (the peer where `p2psip user add` ran). Resolves with the outcome.
   */
  async claimAsOwner(aor: string): Promise<VerifyOutcome> {
    const m = /^sips?:([^@]+)@(.+)$/i.exec(aor);
    if (m === null || m[2]!.toLowerCase() !== this.realm) return { ok: false, reason: 'unknown-user', detail: `${aor} is not in ${this.realm}` };
    let r: ClientStoreResult;
    try {
      r = await this.storage.store(P2PSIP_AUTH_PROOF_KIND_ID, { resourceName: userResourceName(m[1]!, this.realm) }, [{ model: 'single', value: { exists: true, value: encodeOwnerClaim(m[1]!, this.realm) } }], { lifetime: PROOF_LIFETIME_S });
    } catch (e) {
      return { ok: false, reason: 'unavailable', detail: e instanceof Error ? e.message : String(e) };
    }
    if (r.ok) return { ok: true };
    return r.errorCode === ReloadErrorCode.Forbidden ? this.fromRefusal(r.info) : { ok: false, reason: 'unavailable', detail: `RELOAD error ${r.errorCode}: ${r.info}` };
  }

  private fromRefusal(info: string): VerifyOutcome {
    const m = new RegExp(`${AUTH_REFUSAL_PREFIX}([a-z-]+): ?(.*)$`).exec(info);
    const reason = m?.[1];
    const detail = m?.[2] ?? info;
    if (reason === 'unknown-user' || reason === 'bad-response' || reason === 'replay') return this.no(reason, detail);
    if (reason === 'bad-proof') return this.no('bad-response', detail);
    // rate-limited, grants-full, a peer without the directory: not the phone's fault
    return this.unavailable(info);
  }

  private no(reason: 'unknown-user' | 'bad-response' | 'replay', detail: string): VerifyOutcome {
    this.stats.refused++;
    return { ok: false, reason, detail };
  }

  private unavailable(detail: string): VerifyOutcome {
    this.stats.unavailable++;
    return { ok: false, reason: 'unavailable', detail };
  }
}
