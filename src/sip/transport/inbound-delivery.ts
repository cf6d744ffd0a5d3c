/**
 * The common end of every receive path: parse one message (RFC 3261 §7), stamp the top Via of a
 * request (§18.2.1, RFC 3581), hand it to the user; answer what the parser says to answer.
 */
import { parseMessage, serializeMessage } from '../message/index.js';
import type { SipLimits, SipMessage } from '../message/sip-message.js';
import { stampTopVia } from './stamp-top-via.js';
import type { TransportCounters } from './transport-layer-options.js';
import type { SipTransportUser, TransportAddress } from './sip-transport.js';

export type Logger = { warn(obj: object, msg: string): void };

export class InboundDelivery {
  constructor(
    private readonly user: SipTransportUser,
    private readonly limits: SipLimits,
    private readonly counters: TransportCounters,
    private readonly logger: Logger | undefined,
  ) {}

  /** Parses and delivers one message. Returns false when it was dropped without an answer. */
  deliver(
    data: Uint8Array,
    datagram: boolean,
    source: TransportAddress,
    local: TransportAddress,
    flowId: string | undefined,
    replyWith: (bytes: Uint8Array) => void,
  ): boolean {
    const result = parseMessage(data, { datagram, limits: this.limits });
    if (!result.ok) {
      this.counters.parseErrors++;
      if (result.response === undefined) return false;
      this.reply(result.response, replyWith);
      return true;
    }
    const message = result.message;
    if (message.kind === 'request' && !stampTopVia(message, source)) {
      this.counters.parseErrors++;
      return false;
    }
    this.counters.received++;
    try {
      this.user.onMessage({ message, source: { ...source }, local: { ...local }, flowId });
    } catch (e) {
      this.logger?.warn({ error: e instanceof Error ? e.message : String(e) }, 'sip transport: onMessage threw');
    }
    return true;
  }

  /** Sends an answer of this layer's own (400/413/505 for what could not be parsed or framed). */
  reply(response: SipMessage, replyWith: (bytes: Uint8Array) => void): void {
    try {
      replyWith(serializeMessage(response));
      this.counters.errorResponsesSent++;
    } catch (e) {
      this.logger?.warn({ error: String(e) }, 'sip transport: error response not sent');
    }
  }
}
