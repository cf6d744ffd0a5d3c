import { randomBytes } from 'node:crypto';
import type { Random } from '../lib/random.js';

/** Randomness from node:crypto, drawn in blocks to keep per-call cost low. */
export class CryptoRandom implements Random {
  private pool = Buffer.alloc(0);
  private offset = 0;

  private take(n: number): Buffer {
    if (this.offset + n > this.pool.length) {
      this.pool = randomBytes(Math.max(4096, n));
      this.offset = 0;
    }
    const out = this.pool.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  u32(): number {
    return this.take(4).readUInt32LE(0);
  }

  float(): number {
    return this.u32() / 0x100000000;
  }

  bytes(n: number): Uint8Array {
    return Uint8Array.from(this.take(n));
  }
}
