/**
 * Where the router's verdicts are acted on (RFC 6940 §6.1): every message a link brings and every
 * message this node originates (requests, answers) goes through OverlayRouter, and the verdict says
 * what follows — delivery to this node, nothing more (forwarded, or a fragment held), a drop counted,
 * or a refusal: counted, and a request from another node answered with the error (§6.1.2). Sans-I/O.
 */
import { RELOAD_VERSION, decodeReloadPdu, isRequestCode } from '../codec/index.js';
import type { CodecOptions, ForwardingHeader } from '../codec/index.js';
import { OTHER_CODE, isMaintenanceCode } from './overlay-counters.js';
import type { OverlayCounters } from './overlay-counters.js';
import { peekCode } from './overlay-router.js';
import type { OverlayRouter } from './overlay-router.js';
import type { RouteVerdict } from './route-verdict.js';
import type { Refusal } from './routing-failure.js';

/** What the dispatcher needs. */
export interface MessageDispatcherDeps {
  readonly router: Pick<OverlayRouter, 'route' | 'routeFragment'>;
  readonly counters: OverlayCounters;
  /** Lower 32 bits of SHA-1 of the overlay name (RFC 6940 §6.3.2): messages of other overlays are dropped. */
  readonly overlayHash: number;
  codecOptions(): CodecOptions;
}

/** Delivery to this node (MessageDelivery): the messages routed here, and the error answers of refusals. */
export interface LocalDelivery {
  deliver(h: ForwardingHeader, payload: Uint8Array, from: bigint | undefined): void;
  /** Answers a request from the adjacent node `from` with the refusal's error (RFC 6940 §6.1.2). */
  answerRefusal(req: ForwardingHeader, from: bigint, refusal: Refusal): void;
}

export class MessageDispatcher {
  private local: LocalDelivery | undefined;

  constructor(private readonly deps: MessageDispatcherDeps) {}

  /** Sets delivery to this node (once, when the node is wired). */
  setUser(local: LocalDelivery): void {
    this.local = local;
  }

  /**
   * A message this node originates (a request, or an answer along a reversed Via List): routed from
   * here. Returns the id of the link it left on (undefined: delivered here, dropped or refused).
   */
  originate(h: ForwardingHeader, payload: Uint8Array): string | undefined {
    const v = this.deps.router.route(h, payload, undefined);
    this.act(v);
    return v.kind === 'forward' ? v.linkId : undefined;
  }

  /** One message or fragment (RFC 6940 §6.7) from the link to the adjacent node `from`. */
  receive(message: Uint8Array, from: bigint): void {
    const { counters, router } = this.deps;
    const pdu = decodeReloadPdu(message, this.deps.codecOptions());
    if (!pdu.ok) {
      counters.countReceived(OTHER_CODE);
      counters.dropped('undecodable');
      return;
    }
    const { header: h, payload, headerLength } = pdu.value;
    if (h.overlay !== this.deps.overlayHash || h.version !== RELOAD_VERSION) {
      counters.countReceived(OTHER_CODE);
      counters.dropped('foreign overlay or version');
      return;
    }
    const code = peekCode(payload, h);
    counters.countReceived(code);
    if (isMaintenanceCode(code)) {
      counters.maintenanceBytesIn += message.length;
      counters.maintenanceMessagesIn++;
    }
    const fragment = !h.fragment.last || h.fragment.offset !== 0;
    this.act(fragment ? router.routeFragment(h, payload, headerLength, from) : router.route(h, payload, from));
  }

  private act(v: RouteVerdict): void {
    switch (v.kind) {
      case 'deliver':
        this.local?.deliver(v.header, v.payload, v.from);
        return;
      case 'refuse':
        this.deps.counters.dropped(v.refusal.info);
        if (v.from !== undefined && isRequestCode(peekCode(v.payload, v.header))) this.local?.answerRefusal(v.header, v.from, v.refusal);
        return;
      case 'drop':
        this.deps.counters.dropped(v.reason);
        return;
      case 'forward':
      case 'fragment':
        return;
    }
  }
}
