import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../../src/reload/codec/codec-error.js';
import { DEFAULT_MAX_MESSAGE_SIZE, Reader } from '../../../../src/reload/codec/reader.js';
import type { LengthSize } from '../../../../src/reload/codec/reader.js';
import { Writer } from '../../../../src/reload/codec/writer.js';

function codecError(code: string, path: string): (e: unknown) => boolean {
  return (e) => e instanceof CodecError && e.code === code && e.path === path;
}

describe('Reader', () => {
  test('reads integers in network byte order', () => {
    const r = new Reader(Uint8Array.from([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0xff, 0xff, 0xff, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 1]), 'T');
    assert.equal(r.u8('a'), 0x01);
    assert.equal(r.u16('b'), 0x0203);
    assert.equal(r.u24('c'), 0x040506);
    assert.equal(r.u32('d'), 0xfffffffe);
    assert.equal(r.u64('e'), 0x8000000000000001n);
    assert.ok(r.atEnd());
  });

  test('a short read is a CodecError naming the field and offset', () => {
    const r = new Reader(Uint8Array.from([1, 2, 3]), 'T');
    r.u16('a');
    assert.throws(() => r.u16('b'), (e: unknown) => codecError('RELOAD_DECODE', 'T.b')(e) && (e as CodecError).offset === 2);
    assert.throws(() => r.u64('c'), codecError('RELOAD_DECODE', 'T.c'));
    assert.throws(() => r.bytes(2, 'd'), codecError('RELOAD_DECODE', 'T.d'));
  });

  test('opaque vectors with 1..4 byte length prefixes', () => {
    const r = new Reader(Uint8Array.from([2, 0xaa, 0xbb, 0, 1, 0xcc, 0, 0, 0, 0, 0, 0, 1, 0xdd]), 'T');
    assert.deepEqual(r.opaque(1, 'a'), Uint8Array.from([0xaa, 0xbb]));
    assert.deepEqual(r.opaque(2, 'b'), Uint8Array.from([0xcc]));
    assert.deepEqual(r.opaque(3, 'c'), new Uint8Array(0));
    assert.deepEqual(r.opaque(4, 'd'), Uint8Array.from([0xdd]));
    r.expectEnd();
  });

  test('a declared length beyond the input fails before allocating', () => {
    const r = new Reader(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 1]), 'T');
    assert.throws(() => r.opaque(4, 'body'), (e: unknown) => codecError('RELOAD_DECODE', 'T.body')(e) && (e as CodecError).offset === 0);
  });

  test('opaque honours an explicit maximum', () => {
    const r = new Reader(Uint8Array.from([3, 1, 2, 3]), 'T');
    assert.throws(() => r.opaque(1, 'id', 2), /length 3 exceeds the limit of 2/);
  });

  test('an input above maxLength is refused; the default is 5000 (RFC 6940 §11.1)', () => {
    assert.equal(DEFAULT_MAX_MESSAGE_SIZE, 5000);
    assert.throws(() => new Reader(new Uint8Array(5001), 'M'), codecError('RELOAD_DECODE', 'M'));
    assert.throws(() => new Reader(new Uint8Array(11), 'M', 10), /exceeds the limit of 10/);
    assert.equal(new Reader(new Uint8Array(10), 'M', 10).remaining, 10);
  });

  test('a child reader never reads past its container', () => {
    const r = new Reader(Uint8Array.from([0, 2, 7, 8, 9]), 'T');
    const c = r.sub(2, 'inner');
    assert.equal(c.path, 'T.inner');
    assert.equal(c.offset, 2);
    assert.equal(c.u8('x'), 7);
    assert.equal(c.u8('y'), 8);
    assert.throws(() => c.u8('z'), (e: unknown) => codecError('RELOAD_DECODE', 'T.inner.z')(e) && (e as CodecError).offset === 4);
    assert.equal(r.u8('after'), 9);
  });

  test('a child whose declared length exceeds the parent fails', () => {
    const r = new Reader(Uint8Array.from([5, 1, 2]), 'T');
    assert.throws(() => r.sub(1, 'inner'), codecError('RELOAD_DECODE', 'T.inner'));
    const r2 = new Reader(Uint8Array.from([1, 2]), 'T');
    assert.throws(() => r2.take(3, 'fixed'), codecError('RELOAD_DECODE', 'T.fixed'));
  });

  test('items() reads a list under indexed paths and stops at the container end', () => {
    const r = new Reader(Uint8Array.from([4, 1, 1, 2, 3]), 'H');
    const list = r.sub(1, 'destination_list');
    assert.throws(
      () => list.items((it) => it.opaque(1, 'length')),
      (e: unknown) => codecError('RELOAD_DECODE', 'H.destination_list[1].length')(e),
    );
    const ok = new Reader(Uint8Array.from([1, 1, 1, 2]), 'H').items((it) => it.opaque(1, 'v'));
    assert.deepEqual(ok, [Uint8Array.from([1]), Uint8Array.from([2])]);
  });

  test('items() refuses an item that consumes nothing', () => {
    const r = new Reader(Uint8Array.from([1]), 'L');
    assert.throws(() => r.items(() => 0), /consumed no bytes/);
  });

  test('Boolean is 0 or 1 only (RFC 6940 §6.3.1.1)', () => {
    const r = new Reader(Uint8Array.from([0, 1, 2]), 'T');
    assert.equal(r.boolean('a'), false);
    assert.equal(r.boolean('b'), true);
    assert.throws(() => r.boolean('c'), codecError('RELOAD_DECODE', 'T.c'));
  });

  test('expectEnd reports trailing bytes', () => {
    const r = new Reader(Uint8Array.from([1, 2]), 'T');
    r.u8('a');
    assert.throws(() => r.expectEnd(), codecError('RELOAD_DECODE', 'T'));
  });

  test('values are copies, not views of the input', () => {
    const input = Uint8Array.from([2, 5, 6]);
    const v = new Reader(input, 'T').opaque(1, 'a');
    input[1] = 0;
    assert.deepEqual(v, Uint8Array.from([5, 6]));
  });
});

describe('Writer', () => {
  test('writes integers in network byte order and grows', () => {
    const w = new Writer('T', Number.MAX_SAFE_INTEGER, 1);
    w.u8(1, 'a');
    w.u16(0x0203, 'b');
    w.u24(0x040506, 'c');
    w.u32(0xfffffffe, 'd');
    w.u64(0x8000000000000001n, 'e');
    w.boolean(true, 'f');
    for (let i = 0; i < 100; i++) w.u8(i, 'g');
    const out = w.finish();
    assert.deepEqual(out.subarray(0, 19), Uint8Array.from([1, 2, 3, 4, 5, 6, 0xff, 0xff, 0xff, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 1, 1]));
    assert.equal(out.length, 119);
  });

  test('out-of-range values are RELOAD_ENCODE errors naming the field', () => {
    const w = new Writer('T');
    assert.throws(() => w.u8(256, 'a'), codecError('RELOAD_ENCODE', 'T.a'));
    assert.throws(() => w.u16(-1, 'b'), codecError('RELOAD_ENCODE', 'T.b'));
    assert.throws(() => w.u32(1.5, 'c'), codecError('RELOAD_ENCODE', 'T.c'));
    assert.throws(() => w.u64(1n << 64n, 'd'), codecError('RELOAD_ENCODE', 'T.d'));
    assert.throws(() => w.opaque(1, new Uint8Array(256), 'e'), codecError('RELOAD_ENCODE', 'T.e'));
    assert.throws(() => w.opaque(2, new Uint8Array(3), 'f', 2), codecError('RELOAD_ENCODE', 'T.f'));
  });

  test('back-patched length prefixes', () => {
    const w = new Writer('T');
    w.prefixed(2, 'outer', () => {
      w.u8(9, 'x');
      w.prefixed(1, 'inner', () => w.bytes(Uint8Array.from([1, 2, 3]), 'y'));
    });
    const at = w.reserve(4, 'later');
    w.u16(7, 'z');
    w.patchLength(at, 4, 2, 'later');
    assert.deepEqual(w.finish(), Uint8Array.from([0, 5, 9, 3, 1, 2, 3, 0, 0, 0, 2, 0, 7]));
  });

  test('a prefixed block too long for its prefix is an encode error', () => {
    const w = new Writer('T');
    assert.throws(() => w.prefixed(1, 'blk', () => w.bytes(new Uint8Array(300), 'b')), codecError('RELOAD_ENCODE', 'T.blk'));
  });

  test('maxLength bounds the output', () => {
    const w = new Writer('M', 4);
    w.u32(1, 'a');
    assert.throws(() => w.u8(1, 'b'), /exceed the limit of 4/);
  });

  test('scoped paths', () => {
    const w = new Writer('H');
    assert.throws(() => w.scoped('via_list', () => w.scoped('[2]', () => w.u8(-1, 'type'))), codecError('RELOAD_ENCODE', 'H.via_list[2].type'));
    assert.equal(w.path, 'H');
  });
});

describe('Reader/Writer round trip', () => {
  test('opaque vectors of every prefix size', () => {
    fc.assert(
      fc.property(fc.constantFrom<LengthSize>(1, 2, 3, 4), fc.uint8Array({ maxLength: 300 }), (size, data) => {
        fc.pre(size > 1 || data.length < 256);
        const w = new Writer('T');
        w.opaque(size, data, 'v');
        const r = new Reader(w.finish(), 'T');
        assert.deepEqual(r.opaque(size, 'v'), data);
        r.expectEnd();
      }),
    );
  });

  test('integers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffff }), fc.nat({ max: 0xffffffff }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (a, b, c) => {
        const w = new Writer('T');
        w.u24(a, 'a');
        w.u32(b, 'b');
        w.u64(c, 'c');
        const r = new Reader(w.finish(), 'T');
        assert.equal(r.u24('a'), a);
        assert.equal(r.u32('b'), b);
        assert.equal(r.u64('c'), c);
      }),
    );
  });
});

describe('misuse is a CodecError too', () => {
  test('negative or fractional counts', () => {
    const r = new Reader(Uint8Array.from([1, 2, 3]), 'T');
    assert.throws(() => r.bytes(-1, 'a'), codecError('RELOAD_DECODE', 'T.a'));
    assert.throws(() => r.take(1.5, 'b'), codecError('RELOAD_DECODE', 'T.b'));
    assert.equal(r.offset, 0);
  });

  test('non-values on encode', () => {
    const w = new Writer('T');
    assert.throws(() => w.bytes('ab' as unknown as Uint8Array, 'a'), codecError('RELOAD_ENCODE', 'T.a'));
    assert.throws(() => w.boolean(1 as unknown as boolean, 'b'), codecError('RELOAD_ENCODE', 'T.b'));
    assert.throws(() => w.u64(1 as unknown as bigint, 'c'), codecError('RELOAD_ENCODE', 'T.c'));
  });
});
