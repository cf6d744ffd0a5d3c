/**
 * The last `capacity` distinct sequence numbers received on a link: a data frame whose sequence
 * number is among them is a duplicate of the same datagram (duplicated by the network, or replayed)
 * and is ACKed again but not delivered twice. Retransmissions carry new sequence numbers (RFC 6940
 * §6.6.2), so they are never taken for duplicates here.
 */
export class SequenceHistory {
  private readonly seen = new Set<number>();
  private readonly ring: Uint32Array;
  private next = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Uint32Array(capacity);
  }

  /** Records `sequence`; false when it was already among the remembered ones. */
  add(sequence: number): boolean {
    const s = sequence >>> 0;
    if (this.seen.has(s)) return false;
    if (this.seen.size >= this.capacity) this.seen.delete(this.ring[this.next]!);
    this.ring[this.next] = s;
    this.next = (this.next + 1) % this.capacity;
    this.seen.add(s);
    return true;
  }
}
