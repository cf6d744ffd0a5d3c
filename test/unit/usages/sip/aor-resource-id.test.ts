import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_AOR_LENGTH, aorResourceId, aorResourceName, isOverlayAor } from '../../../../src/usages/sip/aor-resource-id.js';
import { SipUsageError } from '../../../../src/usages/sip/sip-usage-error.js';

describe('AoR → Resource-ID (RFC 7904 §3)', () => {
  test('the Resource Name is user@domain, domain lower-cased, scheme dropped', () => {
    assert.equal(aorResourceName('sip:alice@p2psip.local'), 'alice@p2psip.local');
    assert.equal(aorResourceName('sips:Alice@P2PSIP.Local'), 'Alice@p2psip.local');
  });

  test('SHA-1 truncated to 128 bits (known value)', () => {
    assert.equal(Buffer.from(aorResourceId('sip:alice@p2psip.local')).toString('hex'), '2dd080a64fc2007b629409e1eebcd462');
    assert.equal(aorResourceId('sip:alice@p2psip.local', 20).length, 20);
  });

  test('no user, other schemes and over-long AoRs are refused with a SipUsageError', () => {
    for (const bad of ['sip:p2psip.local', 'tel:+123', 'alice@p2psip.local', `sip:${'a'.repeat(MAX_AOR_LENGTH)}@x`]) {
      assert.throws(() => aorResourceName(bad), (e: unknown) => e instanceof SipUsageError && e.code === 'bad-aor');
    }
  });

  test('overlay AoRs are those whose domain is the overlay name', () => {
    assert.equal(isOverlayAor('sip:alice@p2psip.local', 'p2psip.local'), true);
    assert.equal(isOverlayAor('sip:alice@P2PSIP.local', 'p2psip.local'), true);
    assert.equal(isOverlayAor('sip:alice@example.com', 'p2psip.local'), false);
    assert.equal(isOverlayAor('tel:+1234', 'p2psip.local'), false);
    assert.equal(isOverlayAor('sip:p2psip.local', 'p2psip.local'), false);
  });
});
