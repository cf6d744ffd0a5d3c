/**
 * Byte-level mutations for the RELOAD fuzzer (scripts/fuzz-reload.ts): bit flips, interesting bytes,
 * inserts, deletes, truncation, edits of uint8/16/24/32 length fields to edge values, splices from
 * other inputs, repeated chunks. Deterministic from a SeededRandom.
 */
import { DEFAULT_MAX_MESSAGE_SIZE } from '../src/reload/codec/index.js';
import type { SeededRandom } from '../src/lib/random.js';

const MAX_INPUT = 3 * DEFAULT_MAX_MESSAGE_SIZE;
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0xd2, 0x45, 0x4c, 0x4f];

export class Mutator {
  constructor(private readonly r: SeededRandom) {}

  int(n: number): number {
    return n <= 0 ? 0 : this.r.u32() % n;
  }

  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }

  randomBytes(): Uint8Array {
    const len = this.int(4) === 0 ? this.int(6000) : this.int(100);
    const b = this.r.bytes(len);
    // a valid frame or token start now and then, so decoders get past the first byte
    if (len > 0 && this.int(2) === 0) b[0] = this.pick([0x80, 0x81, 0xd2]);
    return b;
  }

  mutate(input: Uint8Array, corpus: readonly Uint8Array[]): Uint8Array {
    let b: Uint8Array = input.slice();
    // half the time a single edit, so that many inputs stay close to valid and reach deep fields
    const rounds = this.int(2) === 0 ? 1 : 2 + this.int(4);
    for (let k = 0; k < rounds; k++) {
      switch (this.int(10)) {
        case 0: // bit flip
          if (b.length > 0) b[this.int(b.length)]! ^= 1 << this.int(8);
          break;
        case 1: // interesting byte
          if (b.length > 0) b[this.int(b.length)] = this.pick(INTERESTING);
          break;
        case 2: {
          // insert bytes
          const at = this.int(b.length + 1);
          b = concat(b.subarray(0, at), this.r.bytes(1 + this.int(8)), b.subarray(at));
          break;
        }
        case 3: {
          // delete bytes
          const at = this.int(b.length);
          b = concat(b.subarray(0, at), b.subarray(at + 1 + this.int(16)));
          break;
        }
        case 4: // truncate
          b = b.slice(0, this.int(b.length + 1));
          break;
        case 5:
        case 6: {
          // length-field edit: a uint8/16/24/32 at a random place set to an edge value
          const size = this.pick([1, 2, 3, 4]);
          if (b.length < size) break;
          const at = this.int(b.length - size + 1);
          const old = readUint(b, at, size);
          const max = 2 ** (8 * size) - 1;
          const v = this.pick([0, 1, max, max - 1, old + 1, old - 1, old * 2, b.length - at, b.length - at - size, this.int(max + 1)]);
          writeUint(b, at, size, Math.min(max, Math.max(0, v)));
          break;
        }
        case 7: {
          // splice a piece of another input
          const other = this.pick(corpus);
          const from = this.int(other.length);
          const at = this.int(b.length + 1);
          b = concat(b.subarray(0, at), other.subarray(from, from + 1 + this.int(64)), b.subarray(at));
          break;
        }
        case 8: {
          // repeat a chunk (long lists)
          const at = this.int(b.length);
          const chunk = b.subarray(at, at + 1 + this.int(24));
          const times = 1 + this.int(this.int(10) === 0 ? 200 : 6);
          b = concat(b.subarray(0, at), ...Array<Uint8Array>(times).fill(chunk), b.subarray(at));
          break;
        }
        default: // replace with a random tail
          if (b.length > 0) b = concat(b.subarray(0, this.int(b.length)), this.r.bytes(this.int(32)));
      }
      if (b.length > MAX_INPUT) b = b.slice(0, MAX_INPUT);
    }
    return b;
  }
}

/** Chunk sizes (1..max) that cut `length` bytes. */
export function chunking(mut: Mutator, length: number, max: number): number[] {
  const cuts: number[] = [];
  for (let at = 0; at < length; ) {
    const step = 1 + mut.int(max);
    cuts.push(step);
    at += step;
  }
  return cuts;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function readUint(b: Uint8Array, at: number, size: number): number {
  let v = 0;
  for (let i = 0; i < size; i++) v = v * 256 + b[at + i]!;
  return v;
}

function writeUint(b: Uint8Array, at: number, size: number, v: number): void {
  for (let i = size - 1; i >= 0; i--) {
    b[at + i] = v % 256;
    v = Math.floor(v / 256);
  }
}
