import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../../src/reload/codec/codec-error.js';
import {
  CertificateType,
  HashAlgorithm,
  SignatureAlgorithm,
  decodeSecurityBlock,
  encodeSecurityBlock,
  encodeSignerIdentity,
  messageSignatureInput,
} from '../../../../src/reload/codec/security-block.js';
import type { SecurityBlock } from '../../../../src/reload/codec/security-block.js';
import { securityBlock } from './arbitraries.js';
import { hex, hexdoc, toHex } from './hex.js';

function isDecodeError(path: string): (e: unknown) => boolean {
  return (e) => e instanceof CodecError && e.code === 'RELOAD_DECODE' && e.path === path;
}

const block: SecurityBlock = {
  certificates: [{ type: CertificateType.X509, certificate: hex('308201') }],
  signature: {
    algorithm: { hash: HashAlgorithm.sha256, signature: SignatureAlgorithm.rsa },
    identity: { type: 'cert_hash', hashAlg: HashAlgorithm.sha256, certificateHash: hex('aabbcc') },
    signatureValue: hex('0102'),
  },
};

// RFC 6940 §6.3.4, byte group by byte group
const blockBytes = hexdoc(`
  0006          certificates length
  00            certificates[0].type: X.509 (RFC 6091)
  0003          certificates[0].certificate length
  308201        certificates[0].certificate (DER, truncated)
  04 01         signature.algorithm: hash sha256, signature rsa
  01            signature.identity.identity_type: cert_hash
  0005          signature.identity.length
  04            signature.identity.hash_alg: sha256
  03 aabbcc     signature.identity.certificate_hash<0..2^8-1>
  0002 0102     signature.signature_value<0..2^16-1>
`);

describe('SecurityBlock known answers (RFC 6940 §6.3.4)', () => {
  test('encodes byte for byte', () => {
    assert.equal(toHex(encodeSecurityBlock(block)), toHex(blockBytes));
  });

  test('decodes the same bytes', () => {
    assert.deepEqual(decodeSecurityBlock(blockBytes), block);
  });

  test('cert_hash_node_id and none identities', () => {
    const nodeIdHash: SecurityBlock = {
      certificates: [],
      signature: { ...block.signature, identity: { type: 'cert_hash_node_id', hashAlg: 4, certificateNodeIdHash: hex('01') } },
    };
    assert.equal(toHex(encodeSecurityBlock(nodeIdHash)), '0000' + '0401' + '02' + '0003' + '04' + '0101' + '00020102');
    assert.deepEqual(decodeSecurityBlock(encodeSecurityBlock(nodeIdHash)), nodeIdHash);
    const none: SecurityBlock = {
      certificates: [],
      signature: { algorithm: { hash: 0, signature: 0 }, identity: { type: 'none' }, signatureValue: hex('') },
    };
    assert.equal(toHex(encodeSecurityBlock(none)), '0000' + '0000' + '03' + '0000' + '0000');
    assert.deepEqual(decodeSecurityBlock(encodeSecurityBlock(none)), none);
  });

  test('an unknown identity type is kept', () => {
    const b = hex('0000 0401 07 0002 abcd 0000');
    const d = decodeSecurityBlock(b);
    assert.deepEqual(d.signature.identity, { type: 'unknown', code: 7, value: hex('abcd') });
    assert.equal(toHex(encodeSecurityBlock(d)), toHex(b));
  });

  test('signature input: overlay || transaction_id || MessageContents || SignerIdentity', () => {
    const identity = block.signature.identity;
    const input = messageSignatureInput(0x01020304, 0x1122334455667788n, hex('0017'), identity);
    assert.equal(toHex(input), '01020304' + '1122334455667788' + '0017' + toHex(encodeSignerIdentity(identity)));
    assert.equal(toHex(encodeSignerIdentity(identity)), '01000504' + '03aabbcc');
  });
});

describe('SecurityBlock decode errors', () => {
  test('a certificate longer than the bag', () => {
    const b = blockBytes.slice();
    b[4] = 0x09;
    assert.throws(() => decodeSecurityBlock(b), isDecodeError('SecurityBlock.certificates[0].certificate'));
  });

  test('a cert_hash whose hash overruns the identity', () => {
    const b = blockBytes.slice();
    b[14] = 0x09;
    assert.throws(() => decodeSecurityBlock(b), isDecodeError('SecurityBlock.signature.identity.identity.certificate_hash'));
  });

  test('an identity with bytes after its value', () => {
    const b = hex('0000 0401 03 0001 00 0000');
    assert.throws(() => decodeSecurityBlock(b), isDecodeError('SecurityBlock.signature.identity.identity'));
  });

  test('invalidSignerIdentityType (0)', () => {
    assert.throws(() => decodeSecurityBlock(hex('0000 0401 00 0000 0000')), isDecodeError('SecurityBlock.signature.identity.identity_type'));
  });

  test('a missing signature value', () => {
    assert.throws(() => decodeSecurityBlock(hex('0000 0401 03 0000')), isDecodeError('SecurityBlock.signature.signature_value'));
  });

  test('encode errors name the field', () => {
    const bad: SecurityBlock = { ...block, certificates: [{ type: 256, certificate: hex('') }] };
    assert.throws(
      () => encodeSecurityBlock(bad),
      (e: unknown) => e instanceof CodecError && e.code === 'RELOAD_ENCODE' && e.path === 'SecurityBlock.certificates[0].type',
    );
  });
});

describe('SecurityBlock properties', () => {
  test('decode(encode(x)) deep-equals x', () => {
    fc.assert(
      fc.property(securityBlock, (b) => {
        assert.deepEqual(decodeSecurityBlock(encodeSecurityBlock(b)), b);
      }),
      { numRuns: 500 },
    );
  });
});
