/**
 * Issue 15, enrolled overlays: the SIP front's CredentialVerifier that asks the enrollment server
 * (the configuration's p2psip:sip-digest-verifier URL, over HTTPS verified with the configuration's
 * CA) whether a phone's digest answer was made with the password of its user list. No answer, a
 * timeout or anything unexpected is `unavailable` (503 at the front, never 403).
 */
import type { CredentialVerifier, DigestCredentials, VerifyOutcome } from '../sip/auth/credential-verifier.js';
import { httpsRequest } from './enrollment-client.js';

/** Longest wait for the server, ms (the front's own deadline is 10 s). */
export const ENROLLMENT_DIGEST_TIMEOUT_MS = 5_000;

export class EnrollmentDigestVerifier implements CredentialVerifier {
  readonly stats = { asked: 0, ok: 0, refused: 0, unavailable: 0 };

  constructor(
    private readonly url: string,
    private readonly o: { ca?: string; timeoutMs?: number } = {},
  ) {}

  async verify(c: DigestCredentials): Promise<VerifyOutcome> {
    this.stats.asked++;
    const body = new TextEncoder().encode(JSON.stringify(c));
    try {
      const res = await httpsRequest(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        maxSize: 4096,
        timeoutMs: this.o.timeoutMs ?? ENROLLMENT_DIGEST_TIMEOUT_MS,
        ...(this.o.ca === undefined ? {} : { ca: this.o.ca }),
      });
      if (res.status !== 200) return this.unavailable(`enrollment server answered ${res.status}`);
      const j = JSON.parse(res.body.toString('utf8')) as { ok?: unknown; reason?: unknown; detail?: unknown };
      if (j.ok === true) {
        this.stats.ok++;
        return { ok: true };
      }
      const detail = typeof j.detail === 'string' ? j.detail.slice(0, 200) : undefined;
      if (j.reason === 'unknown-user' || j.reason === 'bad-response' || j.reason === 'replay') {
        this.stats.refused++;
        return { ok: false, reason: j.reason, ...(detail === undefined ? {} : { detail }) };
      }
      return this.unavailable(detail ?? 'the enrollment server could not check the answer');
    } catch (e) {
      return this.unavailable(e instanceof Error ? e.message : String(e));
    }
  }

  private unavailable(detail: string): VerifyOutcome {
    this.stats.unavailable++;
    return { ok: false, reason: 'unavailable', detail };
  }
}
