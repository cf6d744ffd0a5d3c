/**
 * Privacy of what the overlay keeps for a user (issue 16): the seam through which messages and
 * voicemail are encrypted to the recipient's certificates in enrolled overlays (sealed-box.ts is
 * the format; recipient-certificates.ts finds the keys). Absent in overlays without user
 * certificates (the self-signed LAN overlay): values are kept signed, not encrypted.
 */

export type SealResult = { ok: true; sealed: Uint8Array } | { ok: false; reason: 'no-certificate' | 'failed'; info: string };

export interface UserSealing {
  /**
   * Encrypts `plaintext` to every usable certificate of the user `aor` names (its CERTIFICATE_BY_USER
   * entries the overlay trusts), bound to `aad` (what the value is and where it lives: a sealed value
   * moved elsewhere does not open). 'no-certificate': the overlay knows no such user.
   */
  seal(aor: string, plaintext: Uint8Array, aad: Uint8Array): Promise<SealResult>;
  /** Opens a value sealed to our own certificate; undefined when it is not one we can open. */
  open(sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined;
  /** The overlay holds a usable certificate for the user (the user exists). */
  hasUser(aor: string): Promise<boolean>;
}
