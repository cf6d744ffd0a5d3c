/**
 * What the proxy lets a media relay do to the messages it forwards (issue 13): look at every
 * request it forwards (statefully, or an ACK for a 2xx statelessly) and every response it sends
 * upstream, rewrite their bodies (SDP), or refuse a request with a SIP answer (488 for SDP it cannot
 * take, 503 when out of ports). The proxy knows nothing of media; without a hook nothing changes.
 */
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import type { TransportAddress } from '../transport/sip-transport.js';

export interface MediaRefusal {
  status: number;
  reason: string;
  headers?: Array<[string, string]>;
}

export interface MediaHook {
  /**
   * `out` (our copy, about to go from us to `to`) of `received` (which came from `from`). The hook may
   * replace `out.body`. A refusal is answered upstream instead of forwarding.
   */
  request(out: SipRequest, received: SipRequest, from: TransportAddress, to: TransportAddress): MediaRefusal | undefined;
  /** Called (and awaited) before `request` for a request forwarded statefully: time to get ports ready. */
  prepare?(out: SipRequest): Promise<void>;
  /**
   * A response about to be sent upstream to `to` (`from`: where it came from, when it is not ours): the
   * response to send (the same, or a copy with a new body).
   */
  response(res: SipResponse, to: TransportAddress, from?: TransportAddress): SipResponse;
}
