import { MessageCode } from '../codec/index.js';

const MAINTENANCE = new Set<number>([
  MessageCode.attach_req,
  MessageCode.attach_ans,
  MessageCode.join_req,
  MessageCode.join_ans,
  MessageCode.leave_req,
  MessageCode.leave_ans,
  MessageCode.update_req,
  MessageCode.update_ans,
  MessageCode.route_query_req,
  MessageCode.route_query_ans,
  MessageCode.config_update_req,
  MessageCode.config_update_ans,
]);

/** Overlay-maintenance methods (topology and connections), as opposed to the application's requests. */
export function isMaintenanceCode(code: number): boolean {
  return MAINTENANCE.has(code);
}

/** The key of {@link OverlayCounters.codesIn}/codesOut for codes outside RFC 6940's table (and unknown ones). */
export const OTHER_CODE = 0;

const KNOWN_CODES: ReadonlySet<number> = new Set<number>(Object.values(MessageCode));

function countCode(map: Map<number, number>, code: number): void {
  const k = KNOWN_CODES.has(code) ? code : OTHER_CODE;
  map.set(k, (map.get(k) ?? 0) + 1);
}

/** Per-node counters (status page, simulator, benchmarks). */
export class OverlayCounters {
  messagesIn = 0;
  messagesOut = 0;
  bytesOut = 0;
  /** Bytes of maintenance messages sent, plus the §6.6.2 framing (8 B) of each. */
  maintenanceBytesOut = 0;
  maintenanceBytesIn = 0;
  maintenanceMessagesIn = 0;
  forwarded = 0;
  delivered = 0;
  refusedLinks = 0;
  /** Links closed at once because the node already had one (both ends attached at the same time). */
  duplicateLinks = 0;
  /** Attaches we sent that went the ICE way (DTLS-UDP-SR), and of those the ones that found no path. */
  iceAttaches = 0;
  iceAttachFailures = 0;
  /** Attaches we answered the ICE way. */
  iceAnswers = 0;
  /**
   * RFC 6940 §6.5.1.2 tie-breaks: Attaches answered Error_In_Progress because ours to the same node
   * goes on, and Attaches of ours cancelled because the other node's goes on.
   */
  attachGlares = 0;
  attachesCancelled = 0;
  readonly drops = new Map<string, number>();
  /**
   * Messages by message code, each way (metrics: RELOAD messages by method). Only codes of RFC 6940
   * §6.3.3's table are kept apart; any other code, and fragments after the first (code unknown),
   * count under {@link OTHER_CODE}, so the maps hold at most 32 entries whatever arrives.
   */
  readonly codesIn = new Map<number, number>();
  readonly codesOut = new Map<number, number>();

  /** `code`: the message code when known (0 for a fragment after the first). */
  countSent(bytes: number, maintenance: boolean, code = OTHER_CODE): void {
    this.messagesOut++;
    this.bytesOut += bytes + 8;
    if (maintenance) this.maintenanceBytesOut += bytes + 8;
    countCode(this.codesOut, code);
  }

  /** A message (or fragment) received from a link, before it is decoded further. */
  countReceived(code: number): void {
    this.messagesIn++;
    countCode(this.codesIn, code);
  }

  dropped(reason: string): void {
    if (this.drops.size < 64 || this.drops.has(reason)) this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }

  get droppedTotal(): number {
    let n = 0;
    for (const v of this.drops.values()) n += v;
    return n;
  }
}
