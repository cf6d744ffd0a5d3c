import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_AOR_USER_BYTES, aorProblem } from '../../../../src/sip/core/aor-validation.js';

describe('aorProblem: what an AoR may hold (issue 14)', () => {
  test('ordinary AoRs pass, at the length limit too (counted in UTF-8 bytes)', () => {
    for (const aor of ['sip:alice@p2psip.local', 'sips:bob.smith+work@p2psip.local', 'tel:+4930123456', `sip:${'a'.repeat(MAX_AOR_USER_BYTES)}@p2psip.local`, `sip:${'é'.repeat(MAX_AOR_USER_BYTES / 2)}@o`]) {
      assert.equal(aorProblem(aor), undefined, aor);
    }
  });

  test('control characters (CR, LF, NUL, DEL, C1), an @ in the user part, a long user or domain are named', () => {
    const cases: Array<[string, RegExp]> = [
      ['sip:a\r\nb@p2psip.local', /control character U\+000D/],
      ['sip:a\nb@p2psip.local', /U\+000A/],
      ['sip:a\u0000b@p2psip.local', /U\+0000/],
      ['sip:a\tb@p2psip.local', /U\+0009/],
      ['sip:a\u007fb@p2psip.local', /U\+007F/],
      ['sip:a\u0085b@p2psip.local', /U\+0085/],
      ['sip:evil@attacker@p2psip.local', /'@'/],
      [`sip:${'a'.repeat(MAX_AOR_USER_BYTES + 1)}@p2psip.local`, /257 bytes \(at most 256\)/],
      [`sip:${'é'.repeat(129)}@p2psip.local`, /258 bytes/],
      [`sip:a@${'d'.repeat(300)}`, /domain is longer than 255/],
      ['sip:@p2psip.local', /empty user part/],
      ['sip:p2psip.local', /no user part/],
      ['mailto:a@b', /not a sip/],
    ];
    for (const [aor, why] of cases) {
      const p = aorProblem(aor);
      assert.ok(p !== undefined, JSON.stringify(aor));
      assert.match(p, why);
      assert.doesNotMatch(p, /[\r\n\0]/, 'the reason never echoes the value');
    }
  });
});
