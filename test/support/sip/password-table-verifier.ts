/**
 * A CredentialVerifier for tests: users and passwords in a table, HA1 computed from them and the digest
 * response recomputed (real MD5 / SHA-256, src/sip/auth/digest-math.ts). `outage` makes it answer
 * 'unavailable' (or never answer: 'hang'); every call is recorded.
 */
import type { CredentialVerifier, DigestCredentials, VerifyOutcome } from '../../../src/sip/auth/credential-verifier.js';
import { computeDigestResponse, computeHa1 } from '../../../src/sip/auth/digest-math.js';

export class PasswordTableVerifier implements CredentialVerifier {
  readonly calls: DigestCredentials[] = [];
  /** undefined: answer; 'unavailable': answer unavailable; 'hang': never answer; 'throw': reject. */
  outage: 'unavailable' | 'hang' | 'throw' | undefined;
  private readonly users: Map<string, string>;

  constructor(users: Record<string, string>) {
    this.users = new Map(Object.entries(users));
  }

  setPassword(user: string, password: string): void {
    this.users.set(user, password);
  }

  verify(c: DigestCredentials): Promise<VerifyOutcome> {
    this.calls.push(c);
    if (this.outage === 'hang') return new Promise(() => {});
    if (this.outage === 'throw') return Promise.reject(new Error('verifier exploded'));
    if (this.outage === 'unavailable') return Promise.resolve({ ok: false, reason: 'unavailable', detail: 'overlay down' });
    const password = this.users.get(c.username);
    if (password === undefined) return Promise.resolve({ ok: false, reason: 'unknown-user' });
    const ha1 = computeHa1(c.algorithm, c.username, c.realm, password);
    const want = computeDigestResponse(ha1, c);
    return Promise.resolve(want === c.response.toLowerCase() ? { ok: true } : { ok: false, reason: 'bad-response' });
  }
}
