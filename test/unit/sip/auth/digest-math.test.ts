import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDigestResponse, computeHa1, DIGEST_HEX_LENGTH } from '../../../../src/sip/auth/digest-math.js';

describe('digest formulas (RFC 2617 §3.2.2, RFC 7616 §3.4)', () => {
  // RFC 7616 §3.9.1: the same answer with SHA-256 and with MD5
  const rfc7616 = {
    method: 'GET',
    uri: '/dir/index.html',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    qop: 'auth' as const,
    nc: '00000001',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  };

  test('RFC 7616 §3.9.1, MD5: response 8ca523f5e9506fed4657c9700eebdbec', () => {
    const ha1 = computeHa1('MD5', 'Mufasa', 'http-auth@example.org', 'Circle of Life');
    assert.equal(computeDigestResponse(ha1, { ...rfc7616, algorithm: 'MD5' }), '8ca523f5e9506fed4657c9700eebdbec');
  });

  test('RFC 7616 §3.9.1, SHA-256: response 753927fa…b6c1', () => {
    const ha1 = computeHa1('SHA-256', 'Mufasa', 'http-auth@example.org', 'Circle of Life');
    assert.equal(ha1.length, DIGEST_HEX_LENGTH['SHA-256']);
    assert.equal(computeDigestResponse(ha1, { ...rfc7616, algorithm: 'SHA-256' }), '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  test('RFC 2617 §3.5 (qop=auth) and the RFC 2069 form without qop', () => {
    const ha1 = computeHa1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life');
    const base = { algorithm: 'MD5' as const, method: 'GET', uri: '/dir/index.html', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093' };
    assert.equal(computeDigestResponse(ha1, { ...base, qop: 'auth', nc: '00000001', cnonce: '0a4f113b' }), '6629fae49393a05397450978507c4ef1');
    assert.equal(computeDigestResponse(ha1, base), '670fd8c2df070c60b045671b8b24ff02');
  });
});
