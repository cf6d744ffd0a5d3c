/**
 * Issue 14, memory: "990 AoRs × 4 contacts of 7.8 KB took a peer from 98 to 378 MB RSS". What a
 * binding costs must be what it holds, not the REGISTER it came in: every field of a parsed message
 * is a view (a V8 sliced string) into the message's header-section text, so a binding that kept its
 * Call-ID or Contact as parsed kept the whole REGISTER — up to 32 KB — alive while registered, and
 * the interned header-name table kept one message per made-up name for the life of the process.
 *
 * Here, on the in-memory world (registrar + SIP usage + stand-in overlay), 100 AoRs get 16 bindings
 * each, every one from its own REGISTER padded to ~25 KB with made-up headers, and then all are
 * removed. The heap, measured after a full GC, must grow by about what the bindings hold while they
 * are registered and come back to its baseline once they are removed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { OVERLAY, OverlaySipWorld, type TestPhone } from './overlay-sip-world.js';

// node's test runner starts this file without --expose-gc; the flag can still be set at run time
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapUsed(): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

const AORS = 100;
const BINDINGS_PER_AOR = 16;
/** Characters of padding in each of a REGISTER's three extra headers (a line is at most 8,192 B). */
const PAD_CHARS = 7_900;
/** Length of each Contact's `pad` URI parameter (16 bindings stay under the AoR's 16,384 bytes). */
const CONTACT_PAD = 560;

const MB = (n: number): string => `${(n / 1048576).toFixed(1)} MB`;

/** The k-th REGISTER for AoR `i`: its own Call-ID, one Contact, ~24 KB of made-up headers. */
function paddedRegister(phone: TestPhone, i: number, k: number, names: string): string {
  const pad = 'p'.repeat(PAD_CHARS);
  return [
    `REGISTER sip:${OVERLAY} SIP/2.0`,
    `Via: SIP/2.0/UDP ${phone.addr.host}:${phone.addr.port};branch=z9hG4bKmem${i}x${k};rport`,
    'Max-Forwards: 70',
    `From: <sip:m${i}@${OVERLAY}>;tag=m${i}x${k}`,
    `To: <sip:m${i}@${OVERLAY}>`,
    `Call-ID: mem-${i}-${k}-0123456789abcdef0123456789abcdef`,
    'CSeq: 1 REGISTER',
    `Contact: <sip:m${i}@198.18.9.9:${6000 + k};pad=${'c'.repeat(CONTACT_PAD)}>`,
    'Expires: 3600',
    // names: 'unique' gives each REGISTER made-up header names of its own (13+ characters)
    ...[0, 1, 2].map((p) => `${names === 'unique' ? `X-Padding-${i}-${k}-${p}` : `X-Padding-Warm-${p}`}: ${pad}`),
    'Content-Length: 0',
    '',
    '',
  ].join('\n');
}

function removeAll(phone: TestPhone, i: number): string {
  return [
    `REGISTER sip:${OVERLAY} SIP/2.0`,
    `Via: SIP/2.0/UDP ${phone.addr.host}:${phone.addr.port};branch=z9hG4bKmemrm${i};rport`,
    'Max-Forwards: 70',
    `From: <sip:m${i}@${OVERLAY}>;tag=rm${i}`,
    `To: <sip:m${i}@${OVERLAY}>`,
    `Call-ID: mem-${i}-0-0123456789abcdef0123456789abcdef`,
    'CSeq: 2 REGISTER',
    'Contact: *',
    'Expires: 0',
    'Content-Length: 0',
    '',
    '',
  ].join('\n');
}

/** Sends `texts` in batches, settling after each; the answers are counted and dropped (not kept). */
async function send(w: OverlaySipWorld, phone: TestPhone, texts: Iterable<string>): Promise<Map<number, number>> {
  const answers = new Map<number, number>();
  const drain = (): void => {
    for (const m of phone.inbox.splice(0)) if (m.kind === 'response') answers.set(m.status, (answers.get(m.status) ?? 0) + 1);
  };
  let n = 0;
  for (const t of texts) {
    phone.sendText(t);
    if (++n % 50 === 0) {
      await w.settle();
      drain();
    }
  }
  await w.settle();
  drain();
  return answers;
}

function* registers(phone: TestPhone, from: number, to: number, names: string): Iterable<string> {
  for (let i = from; i < to; i++) for (let k = 0; k < BINDINGS_PER_AOR; k++) yield paddedRegister(phone, i, k, names);
}

function* removals(phone: TestPhone, from: number, to: number): Iterable<string> {
  for (let i = from; i < to; i++) yield removeAll(phone, i);
}

describe('memory of registrations (issue 14)', () => {
  test('a binding costs what it holds, not its REGISTER; the heap returns to its baseline once all are removed', async (t) => {
    const w = new OverlaySipWorld();
    const a = await w.addPeer('A');
    const phone = await w.phone('sender', a);

    // warm-up: the same paths once (compiled code, caches, tables) before the baseline
    const warm = await send(w, phone, registers(phone, AORS, AORS + 10, 'warm'));
    assert.equal(warm.get(200), 10 * BINDINGS_PER_AOR, `warm-up answers ${JSON.stringify([...warm])}`);
    await send(w, phone, removals(phone, AORS, AORS + 10));
    await a.usage.location.idle();
    assert.equal(a.inner.size(), 0);
    w.store.log.length = 0;
    const base = heapUsed();

    const reg = await send(w, phone, registers(phone, 0, AORS, 'unique'));
    assert.deepEqual([...reg], [[200, AORS * BINDINGS_PER_AOR]], 'every REGISTER answered 200');
    assert.equal(a.inner.size(), AORS);
    assert.equal(a.inner.lookupNow(`sip:m0@${OVERLAY}`).length, BINDINGS_PER_AOR);
    const registered = heapUsed();

    const rm = await send(w, phone, removals(phone, 0, AORS));
    assert.deepEqual([...rm], [[200, AORS]]);
    await a.usage.location.idle();
    w.store.log.length = 0;
    assert.equal(a.inner.size(), 0, 'no AoR left in the location service');
    assert.deepEqual(a.usage.location.publishedAors(), [], 'every overlay entry withdrawn and forgotten');
    const removed = heapUsed();

    const bindings = AORS * BINDINGS_PER_AOR;
    const perBinding = (registered - base) / bindings;
    const note = `baseline ${MB(base)}, registered ${MB(registered)} (${Math.round(perBinding)} B per binding), removed ${MB(removed)}`;
    t.diagnostic(note);
    // a binding holds a ~600-byte Contact and a 50-byte Call-ID; its REGISTER was ~25 KB
    assert.ok(perBinding < 4_096, `each binding keeps its REGISTER alive: ${note}`);
    assert.ok(removed - base < 1.5 * 1048576, `memory kept after every binding was removed: ${note}`);
    await w.stop();
  });
});
