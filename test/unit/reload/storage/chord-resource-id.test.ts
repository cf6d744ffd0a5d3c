import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CHORD_RESOURCE_ID_LENGTH, chordResourceId } from '../../../../src/reload/storage/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('the CHORD-RELOAD Resource Name hash (RFC 6940 §10.2)', () => {
  test('SHA-1 truncated to the identifier length: 16 bytes by default, up to all 20 (FIPS 180 "abc" vector)', () => {
    const abc = new TextEncoder().encode('abc');
    assert.equal(CHORD_RESOURCE_ID_LENGTH, 16);
    assert.equal(hex(chordResourceId(abc)), 'a9993e364706816aba3e25717850c26c');
    assert.equal(hex(chordResourceId(abc, 20)), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  });

  test('a copy: changing the result does not change the next one', () => {
    const a = chordResourceId(new Uint8Array([1]));
    a.fill(0);
    assert.notEqual(hex(chordResourceId(new Uint8Array([1]))), hex(a));
  });
});
