/**
 * A static registration (issue 6): a permanent binding AoR → contact configured on a peer (a
 * gateway, a voicemail box), `p2psip up --static <aor>=<contact-uri>`. This file parses and
 * checks one; StaticRegistrations keeps them stored in the overlay.
 */
import { isSipUri, parseUri } from '../../sip/message/index.js';
import type { SipUri } from '../../sip/message/sip-message.js';
import { aorProblem, canonicalAorUser } from '../../sip/core/aor-validation.js';
import { MAX_AOR_LENGTH } from './aor-resource-id.js';

export interface StaticRegistration {
  /** Canonical AoR `sip:user@<overlay>` (as LocalIdentity.canonicalAor gives it). */
  aor: string;
  /** Where requests for the AoR go. */
  contact: SipUri;
  /** The configured text, for messages and /api/status. */
  text: string;
}

export type StaticRegistrationParse = { ok: true; value: StaticRegistration } | { ok: false; error: string };

/** Longest `<aor>=<contact-uri>` accepted. */
export const MAX_STATIC_REGISTRATION_LENGTH = 1024;

/** Parses `<aor>=<contact-uri>`; the AoR must be a sip: URI with a user in the overlay's domain. */
export function parseStaticRegistration(text: string, overlayName: string): StaticRegistrationParse {
  if (text.length > MAX_STATIC_REGISTRATION_LENGTH) return { ok: false, error: `'${text.slice(0, 40)}…' is longer than ${MAX_STATIC_REGISTRATION_LENGTH} characters` };
  // The AoR has no '=' before its host (user parameters are not allowed), so the first '=' splits.
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1) return { ok: false, error: `expected <aor>=<contact-uri>, got '${text}'` };
  const aorText = text.slice(0, eq).trim();
  const contactText = text.slice(eq + 1).trim();
  const aorUri = parse(aorText.includes(':') ? aorText : `sip:${aorText}`);
  if (aorUri === undefined || aorUri.scheme !== 'sip') return { ok: false, error: `AoR '${aorText}' is not a sip: URI` };
  if (aorUri.user === undefined || aorUri.user === '') return { ok: false, error: `AoR '${aorText}' has no user part` };
  if (aorUri.port !== undefined || aorUri.params.length > 0 || aorUri.headers !== undefined) {
    return { ok: false, error: `AoR '${aorText}' must be plain sip:user@domain (no port, parameters or headers)` };
  }
  if (aorUri.host.toLowerCase() !== overlayName.toLowerCase()) {
    return { ok: false, error: `AoR '${aorText}' is outside the overlay's domain ${overlayName}` };
  }
  const aor = `sip:${canonicalAorUser(aorUri.user)}@${overlayName.toLowerCase()}`;
  if (aor.length > MAX_AOR_LENGTH) return { ok: false, error: `AoR '${aorText}' is longer than ${MAX_AOR_LENGTH} characters` };
  // the same rule as a phone's REGISTER (issue 14): canonical (controls, '%', '@' kept escaped), bounded
  const bad = aorProblem(aor);
  if (bad !== undefined) return { ok: false, error: `AoR '${aorText}': ${bad}` };
  const contact = parse(contactText);
  if (contact === undefined || (contact.scheme !== 'sip' && contact.scheme !== 'sips')) {
    return { ok: false, error: `contact '${contactText}' of ${aorText} is not a sip: or sips: URI` };
  }
  if (contact.host === '') return { ok: false, error: `contact '${contactText}' of ${aorText} has no host` };
  // A contact in the overlay's domain would be routed back into the overlay (a loop until Max-Forwards).
  if (contact.host.toLowerCase() === overlayName.toLowerCase()) {
    return { ok: false, error: `contact '${contactText}' of ${aorText} is in the overlay's domain (give the address of a SIP endpoint)` };
  }
  return { ok: true, value: { aor, contact, text } };
}

function parse(text: string): SipUri | undefined {
  try {
    const u = parseUri(text);
    return isSipUri(u) ? u : undefined;
  } catch {
    return undefined;
  }
}
