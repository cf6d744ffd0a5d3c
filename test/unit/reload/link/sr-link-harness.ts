/**
 * Two SR links on a fake datagram wire: fixed one-way delay on a ManualClock, loss drawn from a
 * SeededRandom per direction, or a drop rule; every datagram logged.
 */
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { decodeFramedMessage } from '../../../../src/reload/codec/index.js';
import type { FramedMessage } from '../../../../src/reload/codec/index.js';
import type { LinkError } from '../../../../src/reload/link/link-error.js';
import { SrLink } from '../../../../src/reload/link/sr-link.js';
import type { SrDatagramChannel, SrLinkUser } from '../../../../src/reload/link/sr-link-types.js';
import type { SrLinkOptions } from '../../../../src/reload/link/sr-link-options.js';

export type Side = 'a' | 'b';

export interface WireRecord {
  from: Side;
  at: number;
  datagram: Uint8Array;
  frame: FramedMessage | undefined;
  dropped: boolean;
}

export interface WireOptions {
  delayMs?: number;
  /** Loss probability of datagrams sent by a / by b. */
  lossFromA?: number;
  lossFromB?: number;
  seed?: number;
}

export class FakeWire {
  readonly log: WireRecord[] = [];
  /** Datagrams on the wire (scheduled deliveries not yet done). */
  inTransit = 0;
  /** Drops everything while true. */
  down = false;
  /** Extra drop rule (besides random loss and `down`). */
  drop: ((r: WireRecord) => boolean) | undefined;
  private readonly random: SeededRandom;
  private readonly ends: Partial<Record<Side, (d: Uint8Array) => void>> = {};

  constructor(
    readonly clock: ManualClock,
    private readonly o: WireOptions = {},
  ) {
    this.random = new SeededRandom(o.seed ?? 1);
  }

  attach(side: Side, receive: (d: Uint8Array) => void): void {
    this.ends[side] = receive;
  }

  channel(from: Side): SrDatagramChannel {
    return { send: (d) => this.send(from, d) };
  }

  private send(from: Side, datagram: Uint8Array): void {
    const decoded = decodeFramedMessage(datagram);
    const rec: WireRecord = { from, at: this.clock.now(), datagram, frame: decoded.ok ? decoded.value : undefined, dropped: false };
    const p = from === 'a' ? (this.o.lossFromA ?? 0) : (this.o.lossFromB ?? 0);
    // one draw per datagram whatever the rule, so a run's loss pattern does not depend on the rule
    const unlucky = this.random.float() < p;
    rec.dropped = this.down || unlucky || (this.drop?.(rec) ?? false);
    this.log.push(rec);
    if (rec.dropped) return;
    this.inTransit++;
    this.clock.setTimer(this.o.delayMs ?? 5, () => {
      this.inTransit--;
      this.ends[from === 'a' ? 'b' : 'a']?.(datagram);
    });
  }

  dataFrames(from: Side): { at: number; sequence: number; message: Uint8Array; dropped: boolean }[] {
    const out: { at: number; sequence: number; message: Uint8Array; dropped: boolean }[] = [];
    for (const r of this.log) if (r.from === from && r.frame?.type === 'data') out.push({ at: r.at, sequence: r.frame.sequence, message: r.frame.message, dropped: r.dropped });
    return out;
  }

  acks(from: Side): { at: number; ackSequence: number; received: number; dropped: boolean }[] {
    const out: { at: number; ackSequence: number; received: number; dropped: boolean }[] = [];
    for (const r of this.log) if (r.from === from && r.frame?.type === 'ack') out.push({ at: r.at, ackSequence: r.frame.ackSequence, received: r.frame.received, dropped: r.dropped });
    return out;
  }
}

export class RecordingSrUser implements SrLinkUser {
  readonly messages: Uint8Array[] = [];
  readonly failed: LinkError[] = [];
  readonly events: { at: number; what: 'suspect' | 'recovered' | 'failed' }[] = [];
  keepalives = 0;
  keepaliveMessage: Uint8Array | undefined;

  constructor(private readonly clock: ManualClock) {}

  onLinkMessage(_id: string, message: Uint8Array): void {
    this.messages.push(message);
  }

  onLinkFailed(_id: string, error: LinkError): void {
    this.failed.push(error);
    this.events.push({ at: this.clock.now(), what: 'failed' });
  }

  onLinkSuspect(): void {
    this.events.push({ at: this.clock.now(), what: 'suspect' });
  }

  onLinkRecovered(): void {
    this.events.push({ at: this.clock.now(), what: 'recovered' });
  }

  keepalive(): Uint8Array | undefined {
    this.keepalives++;
    return this.keepaliveMessage;
  }
}

export interface SrPair {
  clock: ManualClock;
  wire: FakeWire;
  a: SrLink;
  b: SrLink;
  ua: RecordingSrUser;
  ub: RecordingSrUser;
}

export function srPair(wire: WireOptions = {}, a: SrLinkOptions = {}, b: SrLinkOptions = a): SrPair {
  const clock = new ManualClock(0);
  const w = new FakeWire(clock, wire);
  const ua = new RecordingSrUser(clock);
  const ub = new RecordingSrUser(clock);
  const la = new SrLink('a', { clock, channel: w.channel('a'), user: ua }, a);
  const lb = new SrLink('b', { clock, channel: w.channel('b'), user: ub }, b);
  w.attach('a', (d) => la.receive(d));
  w.attach('b', (d) => lb.receive(d));
  return { clock, wire: w, a: la, b: lb, ua, ub };
}

/** Fires timers one by one until `done()` or `limitMs` of virtual time; returns whether done. */
export function runUntil(clock: ManualClock, done: () => boolean, limitMs = 600_000): boolean {
  const end = clock.now() + limitMs;
  while (!done()) {
    const next = clock.nextTimerAt();
    if (next === undefined || next > end) return false;
    clock.advanceTo(next);
  }
  return true;
}

/** A message numbered `i` (big-endian in its first 4 bytes), `size` bytes long. */
export function numbered(i: number, size = 100): Uint8Array {
  const m = new Uint8Array(size);
  new DataView(m.buffer).setUint32(0, i);
  for (let k = 4; k < size; k++) m[k] = (i + k) & 0xff;
  return m;
}

export function numberOf(m: Uint8Array): number {
  return new DataView(m.buffer, m.byteOffset, m.byteLength).getUint32(0);
}
