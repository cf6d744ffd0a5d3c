/**
 * What the SIP front needs to check a phone's digest answer (RFC 3261 §22, RFC 8760) without holding
 * the user's password or HA1 itself: the verifier is given every field of the Authorization /
 * Proxy-Authorization header plus the request method, and says whether the answer was made with the
 * user's password. In the overlay the storing peers of the user's Resource-ID hold the verifier and
 * answer (usages/sip); tests use a table of passwords.
 */
export type DigestAlgorithm = 'MD5' | 'SHA-256';

/** One digest answer, as the phone sent it (qop=auth only; auth-int is refused before this). */
export interface DigestCredentials {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly response: string;
  readonly algorithm: DigestAlgorithm;
  /** 'auth', or absent (RFC 2069 compatibility: no nc/cnonce). */
  readonly qop?: 'auth';
  /** 8 hex digits when qop is present. */
  readonly nc?: string;
  readonly cnonce?: string;
  readonly opaque?: string;
  /** The request's method (HA2 = H(method:uri)). */
  readonly method: string;
}

export type VerifyOutcome =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /**
       * unknown-user: no such user in the directory; bad-response: the answer was not made with the
       * password; replay: this nonce/nc was used before; unavailable: the verifier could not be asked
       * (overlay down, timeout) — the front answers 503, never 403, for that one.
       */
      readonly reason: 'unknown-user' | 'bad-response' | 'replay' | 'unavailable';
      readonly detail?: string;
    };

export interface CredentialVerifier {
  verify(credentials: DigestCredentials): Promise<VerifyOutcome>;
}
