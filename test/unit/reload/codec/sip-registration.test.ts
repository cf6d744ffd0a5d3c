import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeSipRegistration, encodeSipRegistration } from '../../../../src/reload/codec/sip-registration.js';
import type { SipRegistration } from '../../../../src/reload/codec/sip-registration.js';
import { hex, hexdoc, toHex } from './hex.js';
import { sipRegistration } from './method-arbitraries.js';
import { assertDecodeError, isCodecError, ok } from './torture.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('SIP-REGISTRATION value (RFC 7904 §3.2)', () => {
  test('sip_registration_uri known answer', () => {
    const v: SipRegistration = { type: 'uri', uri: text('sip:bob@example.com') };
    const b = hexdoc(`
      01        type sip_registration_uri
      0015      length (21)
      0013      uri length (19)
      7369703a626f62406578616d706c652e636f6d   "sip:bob@example.com"
    `);
    assert.equal(toHex(encodeSipRegistration(v)), toHex(b));
    assert.deepEqual(ok(decodeSipRegistration(b)), v);
  });

  test('sip_registration_route known answer', () => {
    const node = new Uint8Array(16).fill(0xab);
    const v: SipRegistration = { type: 'route', contactPrefs: hex(''), destinationList: [{ type: 'node', nodeId: node }] };
    const b = hexdoc(`
      02        type sip_registration_route
      0016      length (22)
      0000      contact_prefs (empty)
      0012      destination_list length (18)
      01 10     destination: node, length 16
      ${'ab'.repeat(16)}   Node-ID
    `);
    assert.equal(toHex(encodeSipRegistration(v)), toHex(b));
    assert.deepEqual(ok(decodeSipRegistration(b)), v);
  });

  test('round trips', () => {
    fc.assert(fc.property(sipRegistration, (v) => assert.deepEqual(ok(decodeSipRegistration(encodeSipRegistration(v))), v)));
  });

  test('errors name the field', () => {
    assertDecodeError(decodeSipRegistration(hex('00 0000')), 'SipRegistration.type');
    assertDecodeError(decodeSipRegistration(hex('01 0004 0001 61')), 'SipRegistration.length');
    assertDecodeError(decodeSipRegistration(hex('01 0004 0001 6162')), 'SipRegistration.data');
    assertDecodeError(decodeSipRegistration(hex('02 0005 0000 0001 00')), 'SipRegistration.data.destination_list[0].type');
    assert.throws(
      () => encodeSipRegistration({ type: 'route', contactPrefs: hex(''), destinationList: [{ type: 'resource', resourceId: hex('01') }, { type: 'compressed', id: 0x8001 }] }),
      isCodecError('RELOAD_ENCODE', 'SipRegistration.destination_list[0]'),
    );
  });
});
