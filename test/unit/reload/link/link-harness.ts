import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { LinkLayer } from '../../../../src/reload/link/link-layer.js';
import type { LinkDownReason, LinkInfo, LinkLayerUser } from '../../../../src/reload/link/link-layer.js';
import type { LinkLayerOptions } from '../../../../src/reload/link/link-layer-options.js';
import { MemoryLinkNet } from './memory-link-net.js';
import type { MemoryLinkDriver } from './memory-link-net.js';

/** Records every event of a LinkLayer. */
export class RecordingUser implements LinkLayerUser {
  readonly events: string[] = [];
  readonly up: LinkInfo[] = [];
  readonly messages: Array<{ id: string; message: Uint8Array }> = [];
  readonly down: Array<{ id: string; reason: LinkDownReason; error: Error | undefined }> = [];
  keepaliveMessage: Uint8Array | undefined;
  keepalives = 0;

  onLinkUp(link: LinkInfo): void {
    this.up.push(link);
    this.events.push(`up ${link.id}`);
  }
  onLinkMessage(id: string, message: Uint8Array): void {
    this.messages.push({ id, message });
    this.events.push(`message ${id}`);
  }
  onLinkDown(id: string, reason: LinkDownReason, error?: Error): void {
    this.down.push({ id, reason, error });
    this.events.push(`down ${id} ${reason}`);
  }
  onLinkSuspect(id: string): void {
    this.events.push(`suspect ${id}`);
  }
  onLinkRecovered(id: string): void {
    this.events.push(`recovered ${id}`);
  }
  keepalive(): Uint8Array | undefined {
    this.keepalives++;
    return this.keepaliveMessage;
  }
}

export interface Pair {
  net: MemoryLinkNet;
  clock: ManualClock;
  a: LinkLayer;
  b: LinkLayer;
  da: MemoryLinkDriver;
  db: MemoryLinkDriver;
  ua: RecordingUser;
  ub: RecordingUser;
  /** Link ids on a (outbound) and b (accepted). */
  idA: string;
  idB: string;
}

/** Two link layers over the memory net, a connected to b, link open. */
export async function openPair(options: LinkLayerOptions = {}, optionsB: LinkLayerOptions = options): Promise<Pair> {
  const net = new MemoryLinkNet();
  const clock = new ManualClock(1000);
  const da = net.driver('10.0.0.1');
  const db = net.driver('10.0.0.2');
  const a = new LinkLayer({ driver: da, clock }, options);
  const b = new LinkLayer({ driver: db, clock }, optionsB);
  const ua = new RecordingUser();
  const ub = new RecordingUser();
  a.setUser(ua);
  b.setUser(ub);
  const ep = await b.listen('10.0.0.2', 6084);
  const idA = a.connect(ep);
  net.pump();
  const idB = ub.up[0]?.id;
  if (idB === undefined || ua.up.length !== 1) throw new Error('pair did not open');
  return { net, clock, a, b, da, db, ua, ub, idA, idB };
}

export function bytes(...v: number[]): Uint8Array {
  return new Uint8Array(v);
}
