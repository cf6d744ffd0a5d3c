/**
 * Randomness as protocol code sees it (branch IDs, tags, Node-IDs, jitter).
 * Protocol cores never call Math.random() or crypto directly.
 */
export interface Random {
  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number;
  /** A float in [0, 1). */
  float(): number;
  /** `n` random bytes. */
  bytes(n: number): Uint8Array;
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A token of `len` lowercase alphanumerics: for SIP tags, branches, Call-IDs. */
export function randomToken(random: Random, len = 16): string {
  let s = '';
  let v = 0;
  let left = 0;
  for (let i = 0; i < len; i++) {
    // Five base-36 digits per 32-bit draw (36^5 < 2^32; the bias is below 2 %).
    if (left === 0) {
      v = random.u32();
      left = 5;
    }
    s += ALNUM[v % 36];
    v = Math.floor(v / 36);
    left--;
  }
  return s;
}

/** Deterministic PRNG (xoshiro128**) seeded through splitmix32: for tests and the simulator. */
export class SeededRandom implements Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  float(): number {
    return this.u32() / 0x100000000;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.u32();
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
