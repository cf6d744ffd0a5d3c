import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as codec from '../../../../src/reload/codec/index.js';

test('the barrel exposes the codec entry points', () => {
  for (const name of ['decodeReloadMessage', 'encodeReloadMessage', 'decodeReloadPdu', 'encodeReloadPdu', 'decodeFramedMessage', 'encodeFramedMessage', 'messageSignatureInput'] as const) {
    assert.equal(typeof codec[name], 'function', name);
  }
  assert.equal(codec.RELO_TOKEN, 0xd2454c4f);
  assert.equal(codec.ReloadErrorCode.InvalidMessage, 0x14);
  assert.equal(new codec.CodecError('RELOAD_DECODE', 'X', 'y').code, 'RELOAD_DECODE');
});
