import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../../src/reload/codec/codec-error.js';
import { RELOAD_VERSION } from '../../../../src/reload/codec/forwarding-header.js';
import { MessageCode } from '../../../../src/reload/codec/message-code.js';
import { encodeMessageContents } from '../../../../src/reload/codec/message-contents.js';
import { decodeReloadMessage, decodeReloadPdu, encodeReloadMessage, encodeReloadPdu } from '../../../../src/reload/codec/reload-message.js';
import type { ReloadMessage } from '../../../../src/reload/codec/reload-message.js';
import type { DecodeResult } from '../../../../src/reload/codec/codec-error.js';
import { reloadMessage } from './arbitraries.js';
import { hex, hexdoc, toHex } from './hex.js';

function value<T>(r: DecodeResult<T>): T {
  if (!r.ok) throw r.error;
  return r.value;
}

function errorOf<T>(r: DecodeResult<T>): CodecError {
  assert.equal(r.ok, false);
  if (r.ok) throw new Error('unreachable');
  return r.error;
}

const ping: ReloadMessage = {
  header: {
    overlay: 0x8c2e1a7f,
    configurationSequence: 1,
    version: RELOAD_VERSION,
    ttl: 100,
    fragment: { last: true, offset: 0 },
    length: 0x4c,
    transactionId: 0x0123456789abcdefn,
    maxResponseLength: 0,
    viaList: [],
    destinationList: [{ type: 'node', nodeId: hex('0f0e0d0c0b0a09080706050403020100') }],
    options: [],
  },
  contents: { messageCode: MessageCode.ping_req, body: hex(''), extensions: [] },
  securityBlock: {
    certificates: [],
    signature: { algorithm: { hash: 4, signature: 1 }, identity: { type: 'none' }, signatureValue: hex('5a') },
  },
};

// RFC 6940 §6.3: forwarding header || MessageContents || SecurityBlock
const pingBytes = hexdoc(`
  d2454c4f            relo_token
  8c2e1a7f            overlay
  0001                configuration_sequence
  0a                  version 1.0
  64                  ttl 100
  c0000000            fragment: last, offset 0
  0000004c            length: 76 = 38 + 18 + 10 + 10
  0123456789abcdef    transaction_id
  00000000            max_response_length
  0000                via_list_length
  0012                destination_list_length 18
  0000                options_length
  01 10 0f0e0d0c0b0a09080706050403020100   destination_list[0]: node
  0017                contents.message_code: ping_req
  00000000            contents.message_body: empty
  00000000            contents.extensions: none
  0000                security_block.certificates: none
  04 01               signature.algorithm: sha256, rsa
  03 0000             signature.identity: none, length 0
  0001 5a             signature.signature_value
`);

describe('ReloadMessage known answer (RFC 6940 §6.3)', () => {
  test('encodes byte for byte, writing the real length', () => {
    assert.equal(toHex(encodeReloadMessage({ ...ping, header: { ...ping.header, length: 0 } })), toHex(pingBytes));
  });

  test('decodes the same bytes', () => {
    assert.deepEqual(value(decodeReloadMessage(pingBytes)), ping);
  });

  test('the PDU view: header, header length, payload', () => {
    const pdu = value(decodeReloadPdu(pingBytes));
    assert.deepEqual(pdu.header, ping.header);
    assert.equal(pdu.headerLength, 56);
    assert.equal(toHex(pdu.payload), toHex(pingBytes.subarray(56)));
    assert.equal(toHex(encodeReloadPdu(pdu.header, pdu.payload)), toHex(pingBytes));
  });

  test('a forwarding peer adds a Via and re-encodes; the length follows', () => {
    const pdu = value(decodeReloadPdu(pingBytes));
    const via = { type: 'compressed' as const, id: 0x8123 };
    const out = encodeReloadPdu({ ...pdu.header, ttl: 99, viaList: [via] }, pdu.payload);
    const m = value(decodeReloadMessage(out));
    assert.equal(m.header.length, pingBytes.length + 2);
    assert.deepEqual(m.header.viaList, [via]);
    assert.deepEqual(m.contents, ping.contents);
  });
});

describe('ReloadMessage decode errors never throw', () => {
  test('a length field that is not the size', () => {
    const b = pingBytes.slice();
    b[19] = 0x4d;
    const e = errorOf(decodeReloadMessage(b));
    assert.equal(e.path, 'ReloadMessage.header.length');
    assert.equal(e.offset, 16);
  });

  test('a fragment is not a whole message, but is a PDU', () => {
    const b = pingBytes.slice();
    b[12] = 0x80; // not the last fragment
    assert.equal(errorOf(decodeReloadMessage(b)).path, 'ReloadMessage.header.fragment');
    assert.equal(value(decodeReloadPdu(b)).header.fragment.last, false);
  });

  test('trailing bytes', () => {
    const b = encodeReloadPdu(ping.header, Uint8Array.from([...pingBytes.subarray(56), 0]));
    assert.equal(errorOf(decodeReloadMessage(b)).path, 'ReloadMessage');
  });

  test('a body longer than the message', () => {
    const b = pingBytes.slice();
    b[59] = 0x10;
    assert.equal(errorOf(decodeReloadMessage(b)).path, 'ReloadMessage.contents.message_body');
  });

  test('input above max-message-size is refused before parsing', () => {
    const e = errorOf(decodeReloadMessage(pingBytes, { maxMessageSize: 75 }));
    assert.equal(e.path, 'ReloadMessage');
    assert.match(e.message, /exceeds the limit of 75/);
    assert.equal(errorOf(decodeReloadMessage(new Uint8Array(5001))).path, 'ReloadMessage');
    assert.ok(value(decodeReloadMessage(pingBytes, { maxMessageSize: 76 })));
  });

  test('encode refuses output above max-message-size and fragments', () => {
    assert.throws(() => encodeReloadMessage(ping, { maxMessageSize: 75 }), (e: unknown) => e instanceof CodecError && e.code === 'RELOAD_ENCODE');
    assert.throws(
      () => encodeReloadMessage({ ...ping, header: { ...ping.header, fragment: { last: false, offset: 0 } } }),
      (e: unknown) => e instanceof CodecError && e.path === 'ReloadMessage.header.fragment',
    );
    const big = { ...ping, contents: { ...ping.contents, body: new Uint8Array(5000) } };
    assert.throws(() => encodeReloadMessage(big), /exceed the limit of 5000/);
    assert.equal(encodeReloadMessage(big, { maxMessageSize: 6000 }).length, 5076);
  });

  test('garbage gives an error result', () => {
    assert.equal(errorOf(decodeReloadMessage(new Uint8Array(0))).path, 'ReloadMessage.header.relo_token');
    assert.equal(errorOf(decodeReloadMessage(hex('d2454c4f'))).path, 'ReloadMessage.header.overlay');
  });
});

describe('ReloadMessage properties', () => {
  const opts = { maxMessageSize: 1 << 16 };

  test('decode(encode(x)) deep-equals x with the real length', () => {
    fc.assert(
      fc.property(reloadMessage(16), (m) => {
        const bytes = encodeReloadMessage(m, opts);
        const d = value(decodeReloadMessage(bytes, opts));
        assert.deepEqual(d, { ...m, header: { ...m.header, length: bytes.length } });
      }),
      { numRuns: 300 },
    );
  });

  test('20-byte Node-IDs', () => {
    const o = { ...opts, nodeIdLength: 20 };
    fc.assert(
      fc.property(reloadMessage(20), (m) => {
        const bytes = encodeReloadMessage(m, o);
        assert.deepEqual(value(decodeReloadMessage(bytes, o)), { ...m, header: { ...m.header, length: bytes.length } });
      }),
      { numRuns: 100 },
    );
  });

  test('the contents re-encode to the bytes received (signature input, RFC 6940 §6.3.4)', () => {
    fc.assert(
      fc.property(reloadMessage(16), (m) => {
        const bytes = encodeReloadMessage(m, opts);
        const pdu = value(decodeReloadPdu(bytes, opts));
        const contents = encodeMessageContents(value(decodeReloadMessage(bytes, opts)).contents, opts);
        assert.equal(toHex(pdu.payload.subarray(0, contents.length)), toHex(contents));
      }),
      { numRuns: 100 },
    );
  });
});
