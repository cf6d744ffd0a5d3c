import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../../src/lib/random.js';
import { defaultLanConfiguration, parseOverlayConfiguration, signOverlayConfiguration, verifyOverlayConfiguration } from '../../../../src/reload/config/index.js';
import type { OverlayConfiguration, ParsedOverlayDocument } from '../../../../src/reload/config/index.js';
import { createOverlayCa, issueCaSignedIdentity, toHex } from '../../../../src/reload/security/index.js';
import type { NodeIdentity, OverlayCa } from '../../../../src/reload/security/index.js';

const NOW = Date.UTC(2026, 0, 15);
const OVERLAY = 'enrolled.example';

async function setup(): Promise<{ ca: OverlayCa; signer: NodeIdentity; config: OverlayConfiguration }> {
  const ca = await createOverlayCa({ overlay: OVERLAY, now: NOW, random: new SeededRandom(1), algorithm: 'ecdsa-p256' });
  const signerId = new Uint8Array(16).fill(0x5a);
  const signer = await issueCaSignedIdentity(ca, { overlay: OVERLAY, userName: `configuration@${OVERLAY}`, nodeIds: [signerId], now: NOW, random: new SeededRandom(2), algorithm: 'ecdsa-p256' });
  const config: OverlayConfiguration = {
    ...defaultLanConfiguration(OVERLAY),
    selfSignedPermitted: false,
    rootCertificates: [ca.certificate],
    enrollmentServers: ['https://127.0.0.1:8443/enroll'],
    configurationSigners: [toHex(signerId)],
    kindSigners: [toHex(signerId)],
  };
  return { ca, signer, config };
}

function parse(xml: string): ParsedOverlayDocument {
  const r = parseOverlayConfiguration(xml);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.document;
}

describe('configuration document signatures (RFC 6940 §11.1)', () => {
  test('signed document parses back to the same configuration and verifies', async () => {
    const { signer, config } = await setup();
    const doc = parse(signOverlayConfiguration(config, signer));
    assert.deepEqual(doc.config, config);
    const r = verifyOverlayConfiguration(doc, { now: NOW });
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.equal(r.signer.userName, `configuration@${OVERLAY}`);
  });

  test('any change to the configuration text breaks the signature', async () => {
    const { signer, config } = await setup();
    const xml = signOverlayConfiguration(config, signer);
    const tampered = parse(xml.replace('<max-message-size>5000</max-message-size>', '<max-message-size>50000</max-message-size>'));
    const r = verifyOverlayConfiguration(tampered, { now: NOW });
    assert.ok(!r.ok && /signature: the signature does not verify/.test(r.error.message));
    const ws = parse(xml.replace('<no-ice>false</no-ice>', '<no-ice>false</no-ice> '));
    assert.ok(!verifyOverlayConfiguration(ws, { now: NOW }).ok, 'whitespace counts (binary blob)');
    const kind = parse(xml.replace('<max-count>10</max-count>', '<max-count>11</max-count>'));
    const k = verifyOverlayConfiguration(kind, { now: NOW });
    assert.ok(!k.ok);
  });

  test('refusals: unsigned, signer not listed, untrusted signer, expired, older sequence', async () => {
    const { signer, config } = await setup();
    const unsigned = verifyOverlayConfiguration(parse(signOverlayConfiguration(config, signer).replace(/<signature>[^<]*<\/signature>/, '')), { now: NOW });
    assert.ok(!unsigned.ok && /not signed/.test(unsigned.error.message));
    assert.throws(() => signOverlayConfiguration({ ...config, configurationSigners: ['00'] }, signer), /configuration-signer/);
    // previous configuration lists another signer
    const prev = { ...config, configurationSigners: ['11'.repeat(16)] };
    const notListed = verifyOverlayConfiguration(parse(signOverlayConfiguration(config, signer)), { now: NOW, previous: prev });
    assert.ok(!notListed.ok && /not an authorized signer/.test(notListed.error.message));
    // a document whose root-cert is not the signer's CA
    const other = await createOverlayCa({ overlay: OVERLAY, now: NOW, random: new SeededRandom(9), algorithm: 'ecdsa-p256' });
    const wrongRoot = verifyOverlayConfiguration(parse(signOverlayConfiguration({ ...config, rootCertificates: [other.certificate] }, signer)), { now: NOW });
    assert.ok(!wrongRoot.ok && /not issued by a root-cert/.test(wrongRoot.error.message));
    const expired = verifyOverlayConfiguration(parse(signOverlayConfiguration({ ...config, expiration: '2025-01-01T00:00:00Z' }, signer)), { now: NOW });
    assert.ok(!expired.ok && /expired/.test(expired.error.message));
    const older = verifyOverlayConfiguration(parse(signOverlayConfiguration(config, signer)), { now: NOW, previous: { ...config, sequence: 3 } });
    assert.ok(!older.ok && /older/.test(older.error.message));
    const garbage = parse(signOverlayConfiguration(config, signer).replace(/<signature>[^<]*<\/signature>/, '<signature>AAAA</signature>'));
    const g = verifyOverlayConfiguration(garbage, { now: NOW });
    assert.ok(!g.ok && /not a SecurityBlock/.test(g.error.message));
  });
});
