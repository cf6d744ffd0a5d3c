/**
 * The receiver's memory of RFC 6940 §6.6.2: the 32 most recently received sequence numbers, from
 * which each ACK's `received` bitmask is built. Our reading of "the N-M bit": for a previously
 * received M with 1 ≤ N-M ≤ 32, bit (N-M-1) counted from the least significant bit is set, so bit 0
 * stands for N-1 and bit 31 for N-32 ("each of the previous 32 sequence numbers"). Arithmetic is
 * modulo 2^32 (sequence numbers wrap).
 */
export class AckWindow {
  private readonly recent = new Uint32Array(32);
  private count = 0;
  private next = 0;

  /** Records the arrival of `sequence` and returns the `received` bitmask of its ACK. */
  receive(sequence: number): number {
    const n = sequence >>> 0;
    let mask = 0;
    for (let i = 0; i < this.count; i++) {
      const d = (n - this.recent[i]!) >>> 0;
      if (d >= 1 && d <= 32) mask |= 1 << (d - 1);
    }
    this.recent[this.next] = n;
    this.next = (this.next + 1) & 31;
    if (this.count < 32) this.count++;
    return mask >>> 0;
  }
}
