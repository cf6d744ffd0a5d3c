/**
 * Line-oriented mutations of text protocols (SIP for scripts/fuzz-sip.ts, HTTP for scripts/fuzz-http.ts):
 * bit flips, inserted/deleted/interesting bytes, duplicated, spliced and dropped lines, truncation,
 * repeated chunks. Deterministic from a SeededRandom. A protocol adds its own edits by overriding
 * `extraEdits` and `extraEdit`.
 */
import type { SeededRandom } from '../src/lib/random.js';

export interface TextMutatorOptions {
  /** Bytes the mutations insert and write over (text delimiters, control bytes). */
  interesting: Buffer;
  /** Longest input a mutation leaves. */
  maxInput: number;
  /** Longest random (unmutated) input. */
  maxRandomLength: number;
  /** Most copies of a repeated chunk (1 in 10 repeats; the others repeat at most 8 times). */
  maxRepeat: number;
  /** Mutation rounds of one input: 'many' (1–8) or 'mostly-one' (half the inputs one edit, so they stay near valid). */
  rounds: 'many' | 'mostly-one';
}

/** Edits every text mutator knows (the last one, the repeated chunk, is also the default). */
const COMMON_EDITS = 9;

export class TextMutator {
  constructor(
    protected readonly r: SeededRandom,
    private readonly options: TextMutatorOptions,
  ) {}

  int(n: number): number {
    return n <= 0 ? 0 : this.r.u32() % n;
  }

  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }

  randomBytes(): Buffer {
    const len = this.int(4) === 0 ? this.int(this.options.maxRandomLength) : this.int(200);
    const b = Buffer.from(this.r.bytes(len));
    // bias towards text so the parser gets further
    const inter = this.options.interesting;
    if (this.int(2) === 0) for (let i = 0; i < b.length; i++) b[i] = inter[b[i]! % inter.length]! | (this.int(3) === 0 ? 0 : 0x40);
    return b;
  }

  lines(b: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let s = 0;
    for (let i = 0; i < b.length; i++) {
      if (b[i] === 0x0a) {
        out.push(b.subarray(s, i + 1));
        s = i + 1;
      }
    }
    if (s < b.length) out.push(b.subarray(s));
    return out;
  }

  /** How many protocol-specific edits `extraEdit` knows (drawn beside the common ones). */
  protected extraEdits(): number {
    return 0;
  }

  /** Protocol-specific edit number `i` (0 ≤ i < extraEdits()). */
  protected extraEdit(_i: number, b: Buffer): Buffer {
    return b;
  }

  mutate(input: Buffer, corpus: readonly Buffer[]): Buffer {
    const inter = [...this.options.interesting];
    let b: Buffer = Buffer.from(input);
    const rounds = this.options.rounds === 'many' ? 1 + this.int(8) : this.int(2) === 0 ? 1 : 2 + this.int(6);
    for (let k = 0; k < rounds; k++) {
      const edit = this.int(COMMON_EDITS + this.extraEdits());
      switch (edit) {
        case 0: // bit flip
          if (b.length > 0) b[this.int(b.length)]! ^= 1 << this.int(8);
          break;
        case 1: {
          // insert bytes
          const at = this.int(b.length + 1);
          const ins = Buffer.from(Array.from({ length: 1 + this.int(4) }, () => this.pick(inter)));
          b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
          break;
        }
        case 2: {
          // delete bytes
          const at = this.int(b.length);
          b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + this.int(8))]);
          break;
        }
        case 3: // interesting byte
          if (b.length > 0) b[this.int(b.length)] = this.pick(inter);
          break;
        case 4: {
          // duplicate a line
          const ls = this.lines(b);
          if (ls.length > 0) ls.splice(this.int(ls.length), 0, this.pick(ls));
          b = Buffer.concat(ls);
          break;
        }
        case 5: // truncate
          b = b.subarray(0, this.int(b.length + 1));
          break;
        case 6: {
          // splice a header line from another message
          const ls = this.lines(b);
          const other = this.lines(this.pick(corpus));
          if (other.length > 1) ls.splice(1 + this.int(Math.max(1, ls.length - 1)), 0, other[1 + this.int(other.length - 1)]!);
          b = Buffer.concat(ls);
          break;
        }
        case 7: {
          // drop a line
          const ls = this.lines(b);
          if (ls.length > 0) ls.splice(this.int(ls.length), 1);
          b = Buffer.concat(ls);
          break;
        }
        case 8: {
          // repeat a chunk (long values, many fields)
          const at = this.int(b.length);
          const chunk = b.subarray(at, at + 1 + this.int(40));
          const times = 1 + this.int(this.int(10) === 0 ? this.options.maxRepeat : 8);
          b = Buffer.concat([b.subarray(0, at), ...Array<Buffer>(times).fill(chunk), b.subarray(at)]);
          break;
        }
        default:
          b = this.extraEdit(edit - COMMON_EDITS, b);
      }
      if (b.length > this.options.maxInput) b = b.subarray(0, this.options.maxInput);
    }
    return b;
  }
}
