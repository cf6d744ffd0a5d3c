/** Issue 16: the messages-for-absent-users service on a fake overlay and a fake proxy. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { ReloadErrorCode, type StatKindResponse, type StoredData, type StoredDataValue } from '../../../../src/reload/codec/index.js';
import type { ServiceRequest } from '../../../../src/sip/core/local-services.js';
import { createResponse, parseMessage } from '../../../../src/sip/message/index.js';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/sip-message.js';
import { MAX_KEPT_BODY_BYTES, MESSAGE_KIND_ID } from '../../../../src/usages/messages/message-box.js';
import { MessageStoreService, type MessageBoxStorage } from '../../../../src/usages/messages/message-store-service.js';
import { MessageBoxGuard } from '../../../../src/usages/messages/message-box-guard.js';
import { keptMessageKey } from '../../../../src/usages/messages/message-box.js';
import { CertificateSealing } from '../../../../src/usages/sealing/certificate-sealing.js';
import { certificateHashOf, looksSealed } from '../../../../src/usages/sealing/sealed-box.js';
import type { UserSealing } from '../../../../src/usages/sealing/user-sealing.js';
import { generateKeyPairSync } from 'node:crypto';

const self = new Uint8Array(16).fill(7);

/** A storage keeping dictionary values per resource name; `hold` makes stores wait until released. */
class FakeBox implements MessageBoxStorage {
  readonly values = new Map<string, StoredData>();
  held: Array<() => void> = [];
  hold = false;
  failStore: number | undefined;
  now = 1_700_000_000_000;
  async store(_k: number, _ref: { resourceName: string }, values: readonly StoredDataValue[], opts?: { lifetime?: number }): Promise<{ ok: true } | { ok: false; errorCode: number; info: string }> {
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    if (this.failStore !== undefined) return { ok: false, errorCode: this.failStore, info: 'refused' };
    for (const v of values) {
      if (v.model !== 'dictionary') continue;
      this.values.set(Buffer.from(v.key).toString('hex'), { storageTime: BigInt(this.now), lifetime: opts?.lifetime ?? 600, value: v, signature: { algorithm: { hash: 0, signature: 0 }, identity: { type: 'none' }, signatureValue: new Uint8Array(0) } } as unknown as StoredData);
    }
    return { ok: true };
  }
  async fetch(_k: number, _ref: { resourceName: string }, sel?: { keys?: Uint8Array[] }): Promise<{ ok: true; values: Array<{ data: StoredData }> }> {
    const want = new Set((sel?.keys ?? []).map((k) => Buffer.from(k).toString('hex')));
    return { ok: true, values: [...this.values.entries()].filter(([k]) => want.size === 0 || want.has(k)).map(([, data]) => ({ data })) };
  }
  async stat(): Promise<{ ok: true; kind: StatKindResponse }> {
    return {
      ok: true,
      kind: {
        kind: MESSAGE_KIND_ID,
        generation: 1n,
        values: [...this.values.values()].map((d) => ({ storageTime: d.storageTime, lifetime: d.lifetime, metadata: { ...(d.value as { model: 'dictionary'; key: Uint8Array }), value: { exists: d.value.value.exists, valueLength: 0, hashAlgorithm: 0, hashValue: new Uint8Array(0) } } })),
      } as StatKindResponse,
    };
  }
  live(): number {
    return [...this.values.values()].filter((d) => d.value.value.exists).length;
  }
}

function messageRequest(n: number, body = `message ${n}`): SipRequest {
  const text = [
    'MESSAGE sip:bob@p2psip.local SIP/2.0',
    `Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKm${n}`,
    'Max-Forwards: 70',
    `From: "Carol" <sip:carol@example.org>;tag=c${n}`,
    'To: <sip:bob@p2psip.local>',
    `Call-ID: m${n}`,
    'CSeq: 1 MESSAGE',
    `Date: Mon, 07 Dec 2026 08:0${n % 10}:00 GMT`,
    'Content-Type: text/plain',
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
  const r = parseMessage(Buffer.from(text), { datagram: true });
  assert.ok(r.ok && r.message.kind === 'request');
  return r.message as SipRequest;
}

function serviceRequest(req: SipRequest, answers: SipResponse[], fromPeer = false): ServiceRequest {
  return { tx: { request: req, respond: (res: SipResponse) => answers.push(res) } as unknown as ServiceRequest['tx'], request: req, aor: 'sip:bob@p2psip.local', toTag: 't', fromPeer, user: undefined, tryingSent: false };
}

function setup(sealing?: UserSealing): { svc: MessageStoreService; box: FakeBox; sent: SipRequest[]; clock: ManualClock; answer: { status: number }; bob: { registered: boolean } } {
  const box = new FakeBox();
  const sent: SipRequest[] = [];
  const clock = new ManualClock(0);
  const answer = { status: 200 };
  const bob = { registered: false };
  const svc = new MessageStoreService(
    {
      clock,
      random: new SeededRandom(1),
      storage: box,
      selfNodeId: self,
      wallClock: () => box.now,
      inOverlay: (aor) => aor.endsWith('@p2psip.local'),
      registeredHere: () => bob.registered,
      originate: async (r) => {
        sent.push(r);
        return createResponse(r, answer.status);
      },
      ...(sealing === undefined ? {} : { sealing }),
    },
    { maxStoring: 2 },
  );
  return { svc, box, sent, clock, answer, bob };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('MessageStoreService', () => {
  test('what is kept: a MESSAGE from our phone after 404/408/480 — not from a peer, not other methods or statuses, not other domains', async () => {
    const { svc, box } = setup();
    const answers: SipResponse[] = [];
    assert.equal(svc.divert(serviceRequest(messageRequest(1), answers), 404), true);
    await flush();
    assert.equal(answers[0]!.status, 202);
    assert.equal(box.live(), 1);
    assert.equal(svc.divert(serviceRequest(messageRequest(2), answers, true), 404), false, 'from a peer');
    assert.equal(svc.divert(serviceRequest(messageRequest(3), answers), 486), false, 'a busy phone declines');
    assert.equal(svc.divert(serviceRequest(messageRequest(4), answers), 603), false);
    const invite = { ...messageRequest(5), method: 'INVITE' };
    assert.equal(svc.divert(serviceRequest(invite, answers), 404), false);
    const elsewhere = { ...serviceRequest(messageRequest(6), answers), aor: 'sip:bob@example.org' };
    assert.equal(svc.divert(elsewhere, 404), false);
  });

  test('limits: 413 over the body size, 503 past the Stores in flight, 480 when the box is full, 503 when the overlay does not answer', async () => {
    const { svc, box } = setup();
    const answers: SipResponse[] = [];
    svc.divert(serviceRequest(messageRequest(1, 'x'.repeat(MAX_KEPT_BODY_BYTES + 1)), answers), 404);
    assert.equal(answers.at(-1)!.status, 413);
    box.hold = true;
    svc.divert(serviceRequest(messageRequest(2), answers), 404);
    svc.divert(serviceRequest(messageRequest(3), answers), 404);
    assert.equal(svc.divert(serviceRequest(messageRequest(4), answers), 404), true);
    assert.equal(answers.at(-1)!.status, 503, 'a third store in flight is refused (maxStoring 2)');
    assert.equal(answers.at(-1)!.headers.get('retry-after'), '5');
    box.hold = false;
    for (const r of box.held.splice(0)) r();
    await flush();
    assert.deepEqual(answers.slice(-2).map((a) => a.status), [202, 202]);
    box.failStore = ReloadErrorCode.DataTooLarge;
    svc.divert(serviceRequest(messageRequest(5), answers), 480);
    await flush();
    assert.equal(answers.at(-1)!.status, 480);
    assert.match(answers.at(-1)!.reason, /message box is full/);
    box.failStore = 0;
    svc.divert(serviceRequest(messageRequest(6), answers), 480);
    await flush();
    assert.equal(answers.at(-1)!.status, 503);
  });

  test('delivery at registration: in order, with From and Date kept, each removed after its 2xx; a failure stops and retries 30 s later', async () => {
    const { svc, box, sent, clock, answer, bob } = setup();
    const answers: SipResponse[] = [];
    for (let n = 1; n <= 3; n++) {
      box.now += 1;
      svc.divert(serviceRequest(messageRequest(n), answers), 404);
      await flush();
    }
    assert.equal(box.live(), 3);
    bob.registered = true;
    answer.status = 480;
    svc.onRegistered('sip:bob@p2psip.local', true);
    await flush();
    assert.equal(sent.length, 1, 'the first failed: the pass stops');
    assert.equal(box.live(), 3);
    answer.status = 200;
    clock.advance(30_000);
    await flush();
    assert.deepEqual(
      sent.slice(1).map((r) => Buffer.from(r.body).toString()),
      ['message 1', 'message 2', 'message 3'],
    );
    assert.match(sent[1]!.headers.get('from')!, /^"Carol" <sip:carol@example\.org>;tag=/);
    assert.equal(sent[1]!.headers.get('date'), 'Mon, 07 Dec 2026 08:01:00 GMT');
    assert.equal(box.live(), 0, 'removed');
    // a refresh soon after checks nothing; a new binding does
    const before = sent.length;
    svc.onRegistered('sip:bob@p2psip.local', false);
    await flush();
    assert.equal(sent.length, before);
    assert.equal(svc.stats.delivered, 3);
  });

  test('enrolled overlays: kept sealed to the recipient\'s certificates, opened at delivery; no certificate = no user (the failure as it was); the guard wants envelopes', async () => {
    const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const hash = certificateHashOf(new TextEncoder().encode('bob certificate'));
    const sealing = new CertificateSealing({
      clock: new ManualClock(0),
      fetchUserCertificates: async (user) => ({ ok: true, ders: user === 'bob@p2psip.local' ? [new Uint8Array([1])] : [] }),
      trusted: () => ({ userName: 'bob@p2psip.local', publicKey: keys.publicKey, hash, notBefore: 0 }),
      self: { certificateHash: hash, privateKey: keys.privateKey },
    });
    const { svc, box, sent, bob } = setup(sealing);
    const answers: SipResponse[] = [];
    svc.divert(serviceRequest(messageRequest(1, 'the secret plan'), answers), 404);
    await flush();
    assert.equal(answers.at(-1)!.status, 202);
    const kept = [...box.values.values()][0]!.value;
    assert.ok(kept.model === 'dictionary' && looksSealed(kept.value.value), 'the stored value is an envelope');
    assert.equal(Buffer.from(kept.value.value).indexOf('secret'), -1);
    assert.equal(Buffer.from(kept.value.value).indexOf('carol'), -1, 'the sender is not readable either');
    // the storing peer's guard in an enrolled overlay takes the envelope, refuses plain JSON
    const guard = new MessageBoxGuard({ nodeIdLength: 16, closed: false, sealed: { userResourceId: (u) => new TextEncoder().encode(u) } });
    const req = (value: StoredDataValue, userName = 'peer') => ({ resource: new TextEncoder().encode('bob@p2psip.local'), kind: { id: MESSAGE_KIND_ID } as never, data: { storageTime: 1n, lifetime: 3600, value } as StoredData, signer: { userName, nodeIds: [self] }, requester: { userName, nodeIds: [self] }, now: 1, current: () => undefined, kinds: () => undefined });
    assert.deepEqual(guard.check(req(kept)), { ok: true, keep: true });
    const plain = guard.check(req({ model: 'dictionary', key: keptMessageKey(self, 1, 1), value: { exists: true, value: new TextEncoder().encode('{"v":1}') } }));
    assert.match(plain.ok ? '' : plain.info, /not a sealed value/);
    // removal: by the writer, or by a peer enrolled as bob — not by another peer
    const tomb: StoredDataValue = { model: 'dictionary', key: keptMessageKey(new Uint8Array(16).fill(9), 1, 1), value: { exists: false, value: new Uint8Array(0) } };
    assert.equal(guard.check(req(tomb, 'bob@p2psip.local')).ok, true);
    assert.equal(guard.check(req(tomb, 'mallory@p2psip.local')).ok, false);
    // delivered to bob opened, with its From
    bob.registered = true;
    svc.onRegistered('sip:bob@p2psip.local', true);
    await flush();
    await flush();
    assert.equal(Buffer.from(sent.at(-1)!.body).toString(), 'the secret plan');
    assert.match(sent.at(-1)!.headers.get('from')!, /carol@example\.org/);
    // a MESSAGE to a name the overlay holds no certificate of is not kept: the 404 goes back as it was
    const toNobody = { ...serviceRequest(messageRequest(2), answers), aor: 'sip:nobody@p2psip.local' };
    assert.equal(svc.divert(toNobody, 404), true);
    await flush();
    assert.equal(answers.at(-1)!.status, 404);
    assert.equal(svc.stats.noRecipient, 1);
  });
});
