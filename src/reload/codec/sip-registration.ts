import type { DecodeResult } from './codec-error.js';
import type { CodecOptions } from './codec-options.js';
import { readDestinationList, writeDestinationList } from './destination.js';
import type { Destination } from './destination.js';
import { checkObject, decodeBody, encodeBody, nodeIdLengthOf } from './method-body.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** RFC 7904 §3.2 SipRegistrationType codes (0 is reserved). */
export const SipRegistrationType = { sip_registration_uri: 1, sip_registration_route: 2 } as const;

/**
 * RFC 7904 §3.2 SipRegistration, the value stored under the SIP-REGISTRATION Kind (a dictionary
 * keyed by Node-ID): an AOR mapped to another URI, or to a route (RFC 3840 contact preferences and
 * a Destination List towards the registered node). `unknown` keeps another type with its `length`
 * bytes (the structure is extensible).
 */
export type SipRegistration =
  | { type: 'uri'; uri: Uint8Array }
  | { type: 'route'; contactPrefs: Uint8Array; destinationList: Destination[] }
  | { type: 'unknown'; code: number; data: Uint8Array };

export function readSipRegistration(r: Reader, options: CodecOptions): SipRegistration {
  const len = nodeIdLengthOf(options, (d) => r.fail('', d));
  const at = r.offset;
  const code = r.u8('type');
  if (code === 0) r.fail('type', 'reserved SipRegistrationType (0)', at);
  const lengthAt = r.offset;
  const v = r.take(r.u16('length'), 'data', 'length', lengthAt);
  let reg: SipRegistration;
  switch (code) {
    case SipRegistrationType.sip_registration_uri:
      reg = { type: 'uri', uri: v.opaque(2, 'uri') };
      break;
    case SipRegistrationType.sip_registration_route: {
      const contactPrefs = v.opaque(2, 'contact_prefs');
      reg = { type: 'route', contactPrefs, destinationList: readDestinationList(v.sub(2, 'destination_list'), len, false) };
      break;
    }
    default:
      reg = { type: 'unknown', code, data: v.bytes(v.remaining, '') };
  }
  v.expectEnd();
  return reg;
}

export function writeSipRegistration(w: Writer, v: SipRegistration, options: CodecOptions): void {
  const len = nodeIdLengthOf(options, (d) => w.fail('', d));
  checkObject(w, v, 'SipRegistration');
  switch (v.type) {
    case 'uri':
      w.u8(SipRegistrationType.sip_registration_uri, 'type');
      w.prefixed(2, 'length', () => w.opaque(2, v.uri, 'uri'));
      return;
    case 'route':
      w.u8(SipRegistrationType.sip_registration_route, 'type');
      w.prefixed(2, 'length', () => {
        w.opaque(2, v.contactPrefs, 'contact_prefs');
        w.prefixed(2, 'destination_list', () => w.scoped('destination_list', () => writeDestinationList(w, v.destinationList, len, false)));
      });
      return;
    case 'unknown':
      if (!Number.isInteger(v.code) || v.code < 3 || v.code > 255) w.fail('type', `unknown SipRegistrationType ${String(v.code)} must be 3..255`);
      w.u8(v.code, 'type');
      w.opaque(2, v.data, 'length');
      return;
    default:
      w.fail('type', 'not a SipRegistration');
  }
}

/** Encodes a SipRegistration (the DataValue.value of a SIP-REGISTRATION entry). */
export function encodeSipRegistration(v: SipRegistration, options: CodecOptions = {}): Uint8Array {
  return encodeBody('SipRegistration', v, options, (w, x) => writeSipRegistration(w, x, options));
}

export function decodeSipRegistration(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<SipRegistration> {
  return decodeBody('SipRegistration', bytes, options, (r) => readSipRegistration(r, options));
}
