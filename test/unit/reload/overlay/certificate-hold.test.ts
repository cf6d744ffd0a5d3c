import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageCode, ReloadErrorCode, encodePingReq } from '../../../../src/reload/codec/index.js';
import type { ForwardingHeader, SecurityBlock } from '../../../../src/reload/codec/index.js';
import { MAX_HELD_FOR_CERTIFICATE } from '../../../../src/reload/overlay/overlay-node.js';
import type { OverlaySecurity, SignerInfo } from '../../../../src/reload/overlay/overlay-types.js';
import { UnsignedSecurity } from '../../../../src/reload/overlay/unsigned-security.js';
import { OverlayWorld } from './support/overlay-world.js';

/** Unsigned, but while `lookup` is set every message's signer is "unknown, being looked up". */
class LookupSecurity implements OverlaySecurity {
  private readonly inner = new UnsignedSecurity();
  lookup: { promise: Promise<void>; found: boolean } | undefined;
  asked = 0;
  identifyPeer(certificate: Uint8Array | undefined): Uint8Array[] | Error {
    return this.inner.identifyPeer(certificate);
  }
  sign(h: ForwardingHeader, c: Uint8Array): SecurityBlock {
    return this.inner.sign(h, c);
  }
  verify(): { ok: true; signer: SignerInfo | undefined } | { ok: false; info: string; pending?: Promise<unknown> } {
    const l = this.lookup;
    if (l === undefined) return { ok: true, signer: undefined };
    this.asked++;
    return { ok: false, info: 'CERT_UNKNOWN', pending: l.promise };
  }
}

test('a message whose signer certificate is being looked up is held, then delivered (or refused) once the lookup settles; bounded', async () => {
  const w = new OverlayWorld(9);
  const a = await w.add();
  const sec = new LookupSecurity();
  const b = await w.add({}, undefined, sec);
  await w.run(3000);
  const ping = (): Promise<{ ok: boolean; errorCode?: number }> =>
    a.node.request([{ type: 'node', nodeId: b.node.idBytes }], MessageCode.ping_req, encodePingReq({ padding: new Uint8Array(0) })) as Promise<{ ok: boolean; errorCode?: number }>;

  // found: held until the lookup settles, then verified again and answered
  let settle!: () => void;
  const found = { promise: new Promise<void>((r) => (settle = r)), found: true };
  sec.lookup = found;
  const got: { answered?: { ok: boolean }; refused?: { ok: boolean; errorCode?: number } } = {};
  void ping().then((r) => (got.answered = r));
  await w.run(300);
  assert.equal('answered' in got, false, 'held while the certificate is looked up');
  assert.ok(sec.asked >= 1);
  sec.lookup = undefined; // the lookup found it: the next verify passes
  settle();
  await w.run(300);
  assert.equal(got.answered?.ok, true, 'answered once the lookup settled');

  // not found: verified again after the lookup, still refused → Forbidden, not silence
  let fail!: () => void;
  sec.lookup = { promise: new Promise<void>((r) => (fail = r)), found: false };
  void ping().then((r) => (got.refused = r));
  await w.run(300);
  assert.equal('refused' in got, false);
  fail(); // settles, but verify still says unknown
  await w.run(300);
  assert.equal(got.refused?.ok, false);
  assert.equal(got.refused?.errorCode, ReloadErrorCode.Forbidden);

  // bounded: past MAX_HELD_FOR_CERTIFICATE messages are refused at once instead of held
  let never!: () => void;
  sec.lookup = { promise: new Promise<void>((r) => (never = r)), found: false };
  const results: Array<{ ok: boolean; errorCode?: number }> = [];
  for (let i = 0; i < MAX_HELD_FOR_CERTIFICATE + 5; i++) void ping().then((r) => results.push(r));
  await w.run(500);
  assert.ok(results.length >= 5, `${results.length} refused at once`);
  assert.ok(results.every((r) => !r.ok && r.errorCode === ReloadErrorCode.Forbidden));
  never();
  await w.run(500);
  assert.equal(results.length, MAX_HELD_FOR_CERTIFICATE + 5, 'every held message answered after the lookup');
});
