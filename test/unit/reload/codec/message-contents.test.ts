import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../../src/reload/codec/codec-error.js';
import { MessageCode, answerCodeOf, isRequestCode, isResponseCode } from '../../../../src/reload/codec/message-code.js';
import {
  ReloadErrorCode,
  decodeErrorResponse,
  decodeMessageContents,
  encodeErrorResponse,
  encodeMessageContents,
  errorContents,
  errorInfoText,
  isReloadErrorCode,
  reloadErrorName,
} from '../../../../src/reload/codec/message-contents.js';
import type { MessageContents } from '../../../../src/reload/codec/message-contents.js';
import { errorResponse, messageContents } from './arbitraries.js';
import { hex, hexdoc, toHex } from './hex.js';

function isDecodeError(path: string): (e: unknown) => boolean {
  return (e) => e instanceof CodecError && e.code === 'RELOAD_DECODE' && e.path === path;
}

describe('MessageContents known answers (RFC 6940 §6.3.3)', () => {
  const contents: MessageContents = {
    messageCode: MessageCode.ping_req,
    body: hex('0102'),
    extensions: [{ type: 0x1234, critical: true, contents: hex('ff') }],
  };
  const bytes = hexdoc(`
    0017          message_code: ping_req
    00000002      message_body length
    0102          message_body
    00000008      extensions length
    1234          extensions[0].type
    01            extensions[0].critical = true
    00000001      extensions[0].extension_contents length
    ff            extensions[0].extension_contents
  `);

  test('encodes byte for byte', () => {
    assert.equal(toHex(encodeMessageContents(contents)), toHex(bytes));
  });

  test('decodes the same bytes', () => {
    assert.deepEqual(decodeMessageContents(bytes), contents);
  });

  test('the smallest MessageContents is 10 bytes', () => {
    const c: MessageContents = { messageCode: MessageCode.probe_ans, body: new Uint8Array(0), extensions: [] };
    assert.equal(toHex(encodeMessageContents(c)), '00020000000000000000');
  });

  test('invalid codes and Booleans are decode errors naming the field', () => {
    assert.throws(() => decodeMessageContents(hex('0000 00000000 00000000')), isDecodeError('MessageContents.message_code'));
    const badBool = bytes.slice();
    badBool[14] = 2;
    assert.throws(() => decodeMessageContents(badBool), isDecodeError('MessageContents.extensions[0].critical'));
    const badType = bytes.slice();
    badType[12] = 0;
    badType[13] = 0;
    assert.throws(() => decodeMessageContents(badType), isDecodeError('MessageContents.extensions[0].type'));
    const longBody = bytes.slice();
    longBody[5] = 0xff;
    assert.throws(() => decodeMessageContents(longBody), isDecodeError('MessageContents.message_body'));
  });

  test('encode errors name the field', () => {
    assert.throws(
      () => encodeMessageContents({ ...contents, extensions: [{ type: 0x10000, critical: false, contents: hex('') }] }),
      (e: unknown) => e instanceof CodecError && e.code === 'RELOAD_ENCODE' && e.path === 'MessageContents.extensions[0].type',
    );
    assert.throws(() => encodeMessageContents({ ...contents, messageCode: 0 }), /invalidMessageCode/);
  });
});

describe('ErrorResponse (RFC 6940 §6.3.3.1, §14.9)', () => {
  test('every §14.9 code, by value and name', () => {
    const expected: [number, string][] = [
      [0x2, 'Error_Forbidden'],
      [0x3, 'Error_Not_Found'],
      [0x4, 'Error_Request_Timeout'],
      [0x5, 'Error_Generation_Counter_Too_Low'],
      [0x6, 'Error_Incompatible_with_Overlay'],
      [0x7, 'Error_Unsupported_Forwarding_Option'],
      [0x8, 'Error_Data_Too_Large'],
      [0x9, 'Error_Data_Too_Old'],
      [0xa, 'Error_TTL_Exceeded'],
      [0xb, 'Error_Message_Too_Large'],
      [0xc, 'Error_Unknown_Kind'],
      [0xd, 'Error_Unknown_Extension'],
      [0xe, 'Error_Response_Too_Large'],
      [0xf, 'Error_Config_Too_Old'],
      [0x10, 'Error_Config_Too_New'],
      [0x11, 'Error_In_Progress'],
      [0x12, 'Error_Exp_A'],
      [0x13, 'Error_Exp_B'],
      [0x14, 'Error_Invalid_Message'],
    ];
    assert.equal(Object.keys(ReloadErrorCode).length, expected.length);
    for (const [code, name] of expected) {
      assert.ok(isReloadErrorCode(code));
      assert.equal(reloadErrorName(code), name);
    }
    assert.equal(ReloadErrorCode.TtlExceeded, 0xa);
    assert.equal(isReloadErrorCode(1), false);
    assert.equal(reloadErrorName(0x8001), 'Error_0x8001');
  });

  test('known answer', () => {
    const bytes = hexdoc(`
      0003          error_code: Error_Not_Found
      0003          error_info length
      626164        error_info "bad"
    `);
    const e = { errorCode: ReloadErrorCode.NotFound, errorInfo: hex('626164') };
    assert.equal(toHex(encodeErrorResponse(e)), toHex(bytes));
    assert.deepEqual(decodeErrorResponse(bytes), e);
    assert.equal(errorInfoText(e), 'bad');
  });

  test('errorContents builds a 0xFFFF message', () => {
    const c = errorContents(ReloadErrorCode.Forbidden, 'no');
    assert.equal(c.messageCode, 0xffff);
    assert.deepEqual(decodeErrorResponse(c.body), { errorCode: 2, errorInfo: hex('6e6f') });
  });

  test('decode errors', () => {
    assert.throws(() => decodeErrorResponse(hex('0000 0000')), isDecodeError('ErrorResponse.error_code'));
    assert.throws(() => decodeErrorResponse(hex('0002 0005 61')), isDecodeError('ErrorResponse.error_info'));
    assert.throws(() => decodeErrorResponse(hex('0002 0000 61')), isDecodeError('ErrorResponse'));
  });
});

describe('message codes (RFC 6940 §14.8)', () => {
  test('requests are odd, answers are request + 1', () => {
    assert.equal(MessageCode.attach_req, 3);
    assert.equal(answerCodeOf(MessageCode.store_req), MessageCode.store_ans);
    assert.equal(answerCodeOf(MessageCode.app_attach_req), MessageCode.app_attach_ans);
    assert.ok(isRequestCode(MessageCode.join_req));
    assert.ok(isResponseCode(MessageCode.join_ans));
    assert.equal(isRequestCode(MessageCode.error), false);
    assert.equal(isResponseCode(MessageCode.error), false);
  });
});

describe('MessageContents / ErrorResponse properties', () => {
  test('decode(encode(x)) deep-equals x', () => {
    fc.assert(
      fc.property(messageContents, (c) => {
        assert.deepEqual(decodeMessageContents(encodeMessageContents(c)), c);
      }),
      { numRuns: 500 },
    );
  });

  test('ErrorResponse decode(encode(x)) deep-equals x', () => {
    fc.assert(
      fc.property(errorResponse, (e) => {
        assert.deepEqual(decodeErrorResponse(encodeErrorResponse(e)), e);
      }),
      { numRuns: 300 },
    );
  });
});
