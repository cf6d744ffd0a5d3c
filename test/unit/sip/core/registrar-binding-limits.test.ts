/**
 * Issue 14, memory: "990 AoRs × 4 contacts of 7.8 KB took a peer from 98 to 378 MB RSS". What one
 * binding and one AoR may hold is bounded before anything is kept:
 * - a Contact (as kept: name-addr without expires) over 2,048 bytes, a Call-ID over 255 bytes: 400
 *   naming the limit (Kamailio's registrar answers 400 to both, contact_max_size / CALLID_MAX_SIZE);
 * - an AoR's bindings over 16,384 bytes (Contacts as kept + Call-IDs): 403, unless the change adds
 *   no bytes (a refresh, a removal always pass).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyRegister, bindingBytes, DEFAULT_APPLY_REGISTER_LIMITS } from '../../../../src/sip/core/apply-register.js';
import type { Binding, BindingChange } from '../../../../src/sip/core/location-service.js';
import { DEFAULT_REGISTRAR_OPTIONS } from '../../../../src/sip/core/registrar.js';
import { parseNameAddr } from '../../../../src/sip/message/index.js';
import { SipWorld, type Phone } from './sip-test-network.js';

const AOR = 'sip:alice@p2psip.local';

/** A REGISTER for alice listing `contacts` (header values as written). */
function register(phone: Phone, contacts: string[], opts: { callId?: string; cseq?: number; expires?: number } = {}): string {
  const cseq = opts.cseq ?? 1;
  return [
    'REGISTER sip:p2psip.local SIP/2.0',
    `Via: SIP/2.0/UDP ${phone.addr.host}:${phone.addr.port};branch=z9hG4bKlim${cseq}x${contacts.length};rport`,
    'Max-Forwards: 70',
    `From: <${AOR}>;tag=lim`,
    `To: <${AOR}>`,
    `Call-ID: ${opts.callId ?? 'limits-call'}`,
    `CSeq: ${cseq} REGISTER`,
    ...contacts.map((c) => `Contact: ${c}`),
    `Expires: ${opts.expires ?? 3600}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\n');
}

/** A Contact header value whose name-addr as kept (`<uri>`) is exactly `bytes` long. */
function contactOf(bytes: number, port = 5070): string {
  const head = `sip:alice@198.18.1.1:${port};pad=`;
  return `<${head}${'x'.repeat(bytes - 2 - head.length)}>`;
}

async function answer(w: SipWorld, phone: Phone, text: string): Promise<{ status: number; reason: string }> {
  phone.inbox.length = 0;
  phone.sendText(text);
  await w.settle();
  const r = phone.responses()[0];
  assert.ok(r, 'an answer');
  return { status: r.status, reason: r.reason };
}

describe('registrar: what a binding and an AoR may hold (issue 14)', () => {
  test('the issue\'s REGISTER (4 Contacts of 7.8 KB) gets 400 naming the limit; nothing is kept', async () => {
    const w = new SipWorld();
    await w.start();
    const alice = await w.phone('alice');
    const big = [0, 1, 2, 3].map((j) => contactOf(7_800, 5070 + j));
    const r = await answer(w, alice, register(alice, big));
    assert.deepEqual(r, { status: 400, reason: 'Bad Request - Contact too long (7800 bytes, at most 2048)' });
    assert.deepEqual(await w.peer.location.lookup(AOR), []);
    await w.stop();
  });

  test(`a Contact of ${DEFAULT_REGISTRAR_OPTIONS.maxContactBytes} bytes as kept is accepted, one byte more is not; header parameters count, expires does not`, async () => {
    const w = new SipWorld();
    await w.start();
    const alice = await w.phone('alice');
    const max = DEFAULT_REGISTRAR_OPTIONS.maxContactBytes;
    assert.equal(max, 2_048);
    assert.deepEqual(await answer(w, alice, register(alice, [`${contactOf(max)};expires=600`], { cseq: 1 })), { status: 200, reason: 'OK' });
    assert.deepEqual(await answer(w, alice, register(alice, [contactOf(max + 1, 5071)], { cseq: 2 })), {
      status: 400,
      reason: 'Bad Request - Contact too long (2049 bytes, at most 2048)',
    });
    // a header parameter is kept with the Contact, so it counts
    const withParam = `<sip:alice@198.18.1.1:5072>;+sip.instance="<urn:uuid:${'f'.repeat(max)}>"`;
    assert.equal((await answer(w, alice, register(alice, [withParam], { cseq: 3 }))).status, 400);
    // the refused REGISTERs changed nothing: only the first Contact is registered
    const kept = await w.peer.location.lookup(AOR);
    assert.equal(kept.length, 1);
    assert.equal(kept[0]!.cseq, 1);
    await w.stop();
  });

  test(`a Call-ID over ${DEFAULT_REGISTRAR_OPTIONS.maxCallIdBytes} bytes gets 400 when the REGISTER lists Contacts`, async () => {
    const w = new SipWorld();
    await w.start();
    const alice = await w.phone('alice');
    const max = DEFAULT_REGISTRAR_OPTIONS.maxCallIdBytes;
    assert.equal(max, 255);
    assert.deepEqual(await answer(w, alice, register(alice, [`<${alice.contact}>`], { callId: 'c'.repeat(max + 1) })), {
      status: 400,
      reason: 'Bad Request - Call-ID too long (256 bytes, at most 255)',
    });
    assert.deepEqual(await w.peer.location.lookup(AOR), []);
    assert.deepEqual(await answer(w, alice, register(alice, [`<${alice.contact}>`], { callId: 'c'.repeat(max) })), { status: 200, reason: 'OK' });
    await w.stop();
  });

  test(`an AoR's bindings over ${DEFAULT_APPLY_REGISTER_LIMITS.maxAorBytes} bytes: 403; a removal and a refresh still pass`, async () => {
    const w = new SipWorld();
    await w.start();
    const alice = await w.phone('alice');
    assert.equal(DEFAULT_APPLY_REGISTER_LIMITS.maxAorBytes, 16_384);
    // 7 Contacts of 2,040 bytes + a 10-byte Call-ID each: 14,350 bytes
    const seven = [0, 1, 2, 3, 4, 5, 6].map((j) => contactOf(2_040, 5080 + j));
    assert.deepEqual(await answer(w, alice, register(alice, seven, { callId: 'aor-bytes1', cseq: 1 })), { status: 200, reason: 'OK' });
    // an eighth of 2,048 (another REGISTER) would make 16,408 bytes
    const eighth = contactOf(2_048, 5090);
    assert.deepEqual(await answer(w, alice, register(alice, [eighth], { callId: 'aor-bytes2', cseq: 1 })), {
      status: 403,
      reason: 'Forbidden - Bindings of this AoR over 16384 bytes',
    });
    assert.equal((await w.peer.location.lookup(AOR)).length, 7, 'nothing changed');
    // a smaller one still fits (16,360 bytes)
    assert.equal((await answer(w, alice, register(alice, [contactOf(2_000, 5091)], { callId: 'aor-bytes2', cseq: 2 }))).status, 200);
    assert.equal((await w.peer.location.lookup(AOR)).length, 8);
    // a removal always passes, and makes room
    assert.equal((await answer(w, alice, register(alice, [seven[0]!, seven[1]!], { callId: 'aor-bytes1', cseq: 2, expires: 0 }))).status, 200);
    assert.equal((await answer(w, alice, register(alice, [eighth], { callId: 'aor-bytes3', cseq: 1 }))).status, 200);
    assert.equal((await w.peer.location.lookup(AOR)).length, 7);
    await w.stop();
  });

  test('applyRegister: an AoR already over its limit (a lower limit after a restart) may refresh and shrink, never grow', () => {
    const now = 1_000_000;
    const source = { protocol: 'udp' as const, host: '198.51.100.7', port: 5062 };
    const change = (contacts: Array<[string, number]>, callId: string, cseq: number): BindingChange => ({
      contacts: contacts.map(([c, expiresSec]) => ({ contact: parseNameAddr(c), expiresSec, q: 1 })),
      callId,
      cseq,
      source,
      flowId: undefined,
    });
    const roomy = { maxBindingsPerAor: 16, maxAorBytes: 10_000 };
    const first = applyRegister(AOR, [], change([[contactOf(300, 1), 600], [contactOf(300, 2), 600]], 'call-a', 1), now, roomy);
    assert.ok(first.ok);
    const existing: Binding[] = first.bindings;
    assert.equal(existing.reduce((n, b) => n + bindingBytes(b), 0), 2 * (300 + 6));

    const tight = { maxBindingsPerAor: 16, maxAorBytes: 400 };
    const refresh = applyRegister(AOR, existing, change([[contactOf(300, 1), 900]], 'call-a', 2), now, tight);
    assert.ok(refresh.ok, 'a refresh adds no bytes');
    const shrink = applyRegister(AOR, existing, change([[contactOf(300, 1), 0]], 'call-a', 2), now, tight);
    assert.ok(shrink.ok && shrink.bindings.length === 1, 'a removal passes');
    const grow = applyRegister(AOR, existing, change([[contactOf(300, 3), 600]], 'call-b', 1), now, tight);
    assert.deepEqual(grow, { ok: false, reason: 'aor-too-large', limit: 400 });
    const longerCallId = applyRegister(AOR, existing, change([[contactOf(300, 1), 900]], 'call-a-much-longer', 1), now, tight);
    assert.deepEqual(longerCallId, { ok: false, reason: 'aor-too-large', limit: 400 }, 'a longer Call-ID adds bytes');
  });
});
