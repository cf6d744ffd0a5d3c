import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { MessageCode, decodeAppAttachReqAns } from '../../../../src/reload/codec/index.js';
import type { InboundRequest, OverlayAnswer } from '../../../../src/reload/overlay/overlay-types.js';
import { appAttachHandler } from '../../../../src/usages/sip/app-attach-handler.js';
import { ICE_PASSWORD_LENGTH, ICE_UFRAG_LENGTH, iceCredentials } from '../../../../src/reload/overlay/ice-chars.js';
import { SipPeerLocator } from '../../../../src/usages/sip/sip-peer-locator.js';

// RFC 8445 §5.3: ice-char = ALPHA / DIGIT / "+" / "/"
const ICE_CHARS = /^[A-Za-z0-9+/]+$/;
const text = (b: Uint8Array): string => String.fromCharCode(...b);

function assertIce(c: { ufrag: Uint8Array; password: Uint8Array }): void {
  assert.match(text(c.ufrag), ICE_CHARS);
  assert.match(text(c.password), ICE_CHARS);
  assert.ok(c.ufrag.length >= 4 && c.ufrag.length <= 256, 'ufrag 4..256 ice-chars');
  assert.ok(c.password.length >= 22 && c.password.length <= 256, 'password 22..256 ice-chars');
}

describe('AppAttach ICE credentials (RFC 6940 §6.5.2.1, RFC 8445 §5.3)', () => {
  test('ufrag and password are ice-chars of the right lengths, never NUL or other raw bytes', () => {
    const random = new SeededRandom(11);
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const c = iceCredentials(random);
      assertIce(c);
      assert.equal(c.ufrag.length, ICE_UFRAG_LENGTH);
      assert.equal(c.password.length, ICE_PASSWORD_LENGTH);
      seen.add(text(c.password));
    }
    assert.equal(seen.size, 500, 'passwords do not repeat');
  });

  test('the AppAttach request of the locator and the answer of the handler carry them', async () => {
    const random = new SeededRandom(5);
    const handler = appAttachHandler({ random, sipAddresses: () => [{ protocol: 'udp', host: '127.0.0.1', port: 5071 }] });
    const bodies: Uint8Array[] = [];
    const locator = new SipPeerLocator({
      clock: new ManualClock(0),
      random,
      sipAddresses: () => [{ protocol: 'udp', host: '127.0.0.1', port: 5070 }],
      request: (_dest, code, body): Promise<OverlayAnswer> => {
        bodies.push(body);
        const reply = handler({ code, body } as unknown as InboundRequest);
        if ('error' in reply) return Promise.resolve({ ok: false, errorCode: reply.error, info: reply.info, responder: undefined, hops: 1 });
        bodies.push(reply.body);
        return Promise.resolve({ ok: true, code: reply.code, body: reply.body, responder: undefined, hops: 1, signer: undefined });
      },
    });
    const r = await locator.locate(new Uint8Array(16).fill(1));
    assert.ok(r.ok, 'located');
    assert.equal(bodies.length, 2, 'one request, one answer');
    for (const b of bodies) {
      const d = decodeAppAttachReqAns(b);
      assert.ok(d.ok);
      assertIce(d.value);
    }
    assert.equal(MessageCode.app_attach_req, 0x1d);
  });
});
