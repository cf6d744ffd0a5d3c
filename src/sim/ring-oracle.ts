/**
 * Ground truth of CHORD-RELOAD responsibility over the currently joined peers (RFC 6940 §10.3):
 * a Resource-ID k belongs to the first Node-ID clockwise from k, i.e. the peer with
 * predecessor < k ≤ self, ids as unsigned big-endian integers. Ids are kept as fixed-length
 * lowercase hex, whose string order is the numeric order.
 */
export class RingOracle {
  private ids: string[] = [];

  get size(): number {
    return this.ids.length;
  }

  add(hex: string): void {
    const i = this.lowerBound(hex);
    if (this.ids[i] !== hex) this.ids.splice(i, 0, hex);
  }

  remove(hex: string): void {
    const i = this.lowerBound(hex);
    if (this.ids[i] === hex) this.ids.splice(i, 1);
  }

  has(hex: string): boolean {
    return this.ids[this.lowerBound(hex)] === hex;
  }

  /** The Node-ID responsible for `key` (hex of the same length), or undefined when the ring is empty. */
  responsible(key: string): string | undefined {
    if (this.ids.length === 0) return undefined;
    const i = this.lowerBound(key);
    return this.ids[i === this.ids.length ? 0 : i];
  }

  private lowerBound(x: string): number {
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ids[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Whether `x` lies on the clockwise arc from `a` to `b`, both ends included. */
export function onArc(x: string, a: string, b: string): boolean {
  return a <= b ? a <= x && x <= b : x >= a || x <= b;
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}
