/**
 * FramedLink reads chunks of whole frames in place and everything else through the codec's stream
 * decoder, and writes frames itself: the same frames, ACKs, counters and errors either way, and the
 * bytes the codec's encodeFramedMessage gives.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFramedMessage } from '../../../../src/reload/codec/index.js';
import { FramedLink, type ReceiveResult } from '../../../../src/reload/link/framed-link.js';

const remote = { host: '10.0.0.2', port: 6084 };
const link = (max = 5000): FramedLink => new FramedLink('L1', false, remote, undefined, 0, max, 4096, {});
const data = (sequence: number, n: number): Uint8Array => encodeFramedMessage({ type: 'data', sequence, message: new Uint8Array(n).map((_, i) => (i * 7 + sequence) & 0xff) });
const ack = (ackSequence: number): Uint8Array => encodeFramedMessage({ type: 'ack', ackSequence, received: 0 });
const cat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

/** Feeds `chunks` at increasing times; what the link produced, all chunks together. */
function feed(l: FramedLink, chunks: Uint8Array[]) {
  const messages: number[][] = [];
  const acks: Uint8Array[] = [];
  let progress = 0;
  let error: string | undefined;
  chunks.forEach((c, i) => {
    const r: ReceiveResult = l.receive(c, 100 + i);
    for (const m of r.messages) messages.push([...m]);
    if (r.acks !== undefined) acks.push(r.acks);
    if (r.progress) progress++;
    if (r.error !== undefined) error ??= r.error.message;
  });
  const { srttMs, lastRttMs, ...stats } = l.stats();
  return { messages, acks: [...cat(acks)], progress: progress > 0, error, stats, rtt: srttMs !== undefined && lastRttMs !== undefined };
}

function split(b: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  let k = 0;
  while (at < b.length) {
    const n = sizes[k++ % sizes.length]!;
    out.push(b.slice(at, at + n));
    at += n;
  }
  return out;
}

describe('FramedLink', () => {
  test('frames it writes are the codec encoding', () => {
    const l = link();
    for (const n of [0, 1, 300, 5000]) {
      const m = new Uint8Array(n).fill(9);
      const seq = l.stats().messagesOut;
      assert.deepEqual([...l.frame(m, 0)], [...encodeFramedMessage({ type: 'data', sequence: seq, message: m })]);
    }
    assert.throws(() => l.frame(new Uint8Array(5001), 0), /exceeds/);
  });

  test('whole frames, one chunk per frame, one chunk for all, or any split: the same messages, ACKs, counters', () => {
    const mk = () => {
      const l = link();
      for (let i = 0; i < 3; i++) l.frame(new Uint8Array(10), 0); // so that the ACKs below acknowledge something
      return l;
    };
    const frames = [data(0, 20), data(1, 0), ack(0), data(2, 3000), ack(2), data(3, 1)];
    const all = cat(frames);
    const ref = feed(mk(), split(all, [1]));
    assert.equal(ref.messages.length, 4);
    assert.equal(ref.acks.length, 4 * 9);
    assert.deepEqual(ref.acks.slice(0, 9), [...encodeFramedMessage({ type: 'ack', ackSequence: 0, received: 0 })]);
    assert.deepEqual(ref.acks.slice(9, 18), [...encodeFramedMessage({ type: 'ack', ackSequence: 1, received: 1 })]);
    assert.ok(ref.progress && ref.rtt);
    for (const chunks of [frames, [all], split(all, [7, 300, 2]), split(all, [9, 28, 3008, 5000])]) {
      const got = feed(mk(), chunks);
      // the RTT sample times differ with the chunking; the rest not
      assert.deepEqual({ ...got, stats: { ...got.stats, rtoMs: 0 } }, { ...ref, stats: { ...ref.stats, rtoMs: 0 } });
    }
  });

  test('an unknown frame type or an oversized frame in a whole chunk is the same error as through the decoder, and stays one', () => {
    const bad = cat([data(0, 4), Uint8Array.of(0x55, 0, 0, 0, 0, 0, 0, 0, 0)]);
    const a = feed(link(), [bad, ack(0)]);
    const b = feed(link(), [...split(bad, [3]), ack(0)]);
    assert.match(a.error ?? '', /unknown FramedMessageType 85/);
    assert.deepEqual(a.messages, []);
    assert.equal(a.error, b.error);
    const big = data(0, 200);
    const c = feed(link(100), [big]);
    assert.match(c.error ?? '', /exceeds the limit of 100/);
  });
});
