import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { defaultLanConfiguration, parseOverlayConfiguration, serializeOverlayConfiguration } from '../../../../src/reload/config/index.js';

const DOCS = [
  readFileSync(fileURLToPath(new URL('./rfc6940-example.xml', import.meta.url)), 'utf8'),
  serializeOverlayConfiguration(defaultLanConfiguration('lan.test')),
];

test('mutated documents never throw out of parseOverlayConfiguration', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...DOCS),
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 20 }), fc.string({ maxLength: 12 })), { minLength: 1, maxLength: 4 }),
      (doc, edits) => {
        let s = doc;
        for (const [at, del, ins] of edits) {
          const p = at % (s.length + 1);
          s = s.slice(0, p) + ins + s.slice(p + del);
        }
        const r = parseOverlayConfiguration(s);
        assert.equal(typeof r.ok, 'boolean');
        if (!r.ok) assert.ok(r.error.message.length > 0);
      },
    ),
    { numRuns: 500, seed: 11 },
  );
});
