import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_AOR_USER_BYTES, aorProblem, canonicalAorUser } from '../../../../src/sip/core/aor-validation.js';

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

describe('canonicalAorUser: escapes decoded except where a raw character must never stand in an AoR', () => {
  test('ordinary user parts are decoded as before; controls, % and @ stay (or become) escaped, upper-case hex', () => {
    const cases: Array<[string, string]> = [
      ['alice', 'alice'],
      ['%61lice', 'alice'],
      ['bob.smith+work;x', 'bob.smith+work;x'],
      ['a%3Bb', 'a;b'],
      ['%C3%A9t%C3%A9', 'été'],
      ['null-%00-null', 'null-%00-null'],
      ['a%0d%0ab', 'a%0D%0Ab'],
      ['a%7fb', 'a%7Fb'],
      ['a%C2%85b', 'a%C2%85b'],
      ['bob%40evil', 'bob%40evil'],
      ['100%25', '100%25'],
    ];
    for (const [user, canonical] of cases) {
      assert.equal(canonicalAorUser(user), canonical, user);
      assert.equal(aorProblem(`sip:${canonicalAorUser(user)}@p2psip.local`), undefined, user);
    }
  });

  test('canonical twice is canonical once; two spellings of one user meet', () => {
    for (const u of ['a%0d%0ab', 'null-%00-null', '100%25', 'bob%40evil', '%C3%A9']) {
      const once = canonicalAorUser(u);
      assert.equal(canonicalAorUser(once), once, u);
    }
    assert.equal(canonicalAorUser('%61%6C%69%63%65'), canonicalAorUser('alice'));
    assert.equal(canonicalAorUser('a%0D%0Ab'), canonicalAorUser('a%0d%0ab'));
  });
});
