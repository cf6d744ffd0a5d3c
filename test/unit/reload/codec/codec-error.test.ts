import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError, joinPath } from '../../../../src/reload/codec/codec-error.js';
import { P2psipError } from '../../../../src/lib/errors.js';

describe('CodecError', () => {
  test('is a P2psipError with a stable code, the field path and the offset', () => {
    const e = new CodecError('RELOAD_DECODE', 'ForwardingHeader.destination_list[1].length', 'exceeds the list', 57);
    assert.ok(e instanceof P2psipError);
    assert.equal(e.code, 'RELOAD_DECODE');
    assert.equal(e.name, 'CodecError');
    assert.equal(e.path, 'ForwardingHeader.destination_list[1].length');
    assert.equal(e.offset, 57);
    assert.match(e.message, /^ForwardingHeader\.destination_list\[1\]\.length: exceeds the list \(at byte 57\)$/);
  });

  test('encode errors carry no offset', () => {
    const e = new CodecError('RELOAD_ENCODE', 'MessageContents.message_code', 'not a uint16');
    assert.equal(e.code, 'RELOAD_ENCODE');
    assert.equal(e.offset, undefined);
    assert.equal(e.message, 'MessageContents.message_code: not a uint16');
  });

  test('joinPath joins fields with dots and indexes without', () => {
    assert.equal(joinPath('A', 'b'), 'A.b');
    assert.equal(joinPath('A.b', '[3]'), 'A.b[3]');
    assert.equal(joinPath('', 'b'), 'b');
    assert.equal(joinPath('A', ''), 'A');
  });
});
