/**
 * The parts of the messages one RELOAD node originates (requests and answers): the Forwarding
 * Header (RFC 6940 §6.3.2: overlay hash, version, initial TTL, a random 64-bit transaction ID), and
 * the MessageContents followed by their SecurityBlock (§6.3.3, §6.3.4). Sans-I/O: random and
 * security are injected.
 */
import type { Random } from '../../lib/random.js';
import { RELOAD_VERSION, UNFRAGMENTED, encodeMessageContents, encodeSecurityBlock } from '../codec/index.js';
import type { CodecOptions, Destination, ForwardingHeader, MessageContents } from '../codec/index.js';
import type { OverlayOptions, OverlaySecurity } from './overlay-types.js';

/** What the factory needs from its node. */
export interface MessageFactoryDeps {
  readonly random: Random;
  readonly security: Pick<OverlaySecurity, 'sign'>;
  /** Lower 32 bits of SHA-1 of the overlay name (RFC 6940 §6.3.2). */
  readonly overlayHash: number;
  readonly options: Pick<OverlayOptions, 'initialTtl'>;
  codecOptions(): CodecOptions;
}

export class MessageFactory {
  constructor(private readonly deps: MessageFactoryDeps) {}

  /** A fresh transaction ID (RFC 6940 §6.3.2: 64 random bits). */
  transactionId(): bigint {
    return (BigInt(this.deps.random.u32()) << 32n) | BigInt(this.deps.random.u32());
  }

  /** The Forwarding Header of a message this node sends (empty Via List, unfragmented). */
  header(tid: bigint, dest: Destination[]): ForwardingHeader {
    return {
      overlay: this.deps.overlayHash,
      configurationSequence: 0,
      version: RELOAD_VERSION,
      ttl: this.deps.options.initialTtl,
      fragment: UNFRAGMENTED,
      length: 0,
      transactionId: tid,
      maxResponseLength: 0,
      viaList: [],
      destinationList: dest,
      options: [],
    };
  }

  /** The encoded MessageContents and SecurityBlock (`extraCertificates` join ours in the bag); throws when too large. */
  signedPayload(header: ForwardingHeader, contents: MessageContents, extraCertificates?: readonly Uint8Array[]): Uint8Array {
    const c = encodeMessageContents(contents, this.deps.codecOptions());
    const block = encodeSecurityBlock(this.deps.security.sign(header, c, extraCertificates), this.deps.codecOptions());
    const out = new Uint8Array(c.length + block.length);
    out.set(c, 0);
    out.set(block, c.length);
    return out;
  }
}
