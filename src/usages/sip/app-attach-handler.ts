/**
 * The answering side of AppAttach for SIP (RFC 6940 §6.5.2): every peer answers application
 * 5060 with its SIP front's addresses; any other application is refused.
 */
import type { Random } from '../../lib/random.js';
import { MessageCode, ReloadErrorCode, decodeAppAttachReqAns, encodeAppAttachReqAns } from '../../reload/codec/index.js';
import type { HandlerReply, InboundRequest } from '../../reload/overlay/overlay-types.js';
import type { TransportAddress } from '../../sip/transport/sip-transport.js';
import { SIP_APPLICATION_ID, sipCandidates } from './sip-app-attach.js';
import { iceCredentials } from '../../reload/overlay/ice-chars.js';
import { sipAddressesOf } from './sip-app-attach.js';
import type { SipChannels } from './sip-channels.js';

export interface AppAttachHandlerDeps {
  random: Random;
  /** The SIP front's reachable addresses now (wildcards already replaced by the advertised host). */
  sipAddresses: () => readonly TransportAddress[];
  /** SIP channels (ICE + DTLS): a request that offers ICE candidates gets a channel (issue 12). */
  channels?: SipChannels;
}

const PASSIVE = new TextEncoder().encode('passive');

export function appAttachHandler(deps: AppAttachHandlerDeps): (req: InboundRequest) => HandlerReply {
  return (req) => {
    const d = decodeAppAttachReqAns(req.body);
    if (!d.ok) return { error: ReloadErrorCode.InvalidMessage, info: `AppAttach: ${d.error.message}` };
    if (d.value.application !== SIP_APPLICATION_ID) {
      return { error: ReloadErrorCode.Forbidden, info: `AppAttach: application ${d.value.application} is not served here (only ${SIP_APPLICATION_ID})` };
    }
    const candidates = sipCandidates(deps.sipAddresses());
    if (candidates.length === 0) return { error: ReloadErrorCode.NotFound, info: 'AppAttach: no SIP front address to offer' };
    const channels = deps.channels;
    if (channels !== undefined && req.origin !== undefined && channels.accepts(d.value.candidates)) {
      // §6.5.1.2 (AppAttach is "nearly identical to Attach", §6.5.2): one channel when both peers ask at once
      if (channels.glare(Buffer.from(req.origin).toString('hex')) === 'in-progress') {
        channels.stats.glareRefused++;
        return { error: ReloadErrorCode.InProgress, info: 'AppAttach: our own AppAttach to you is in progress (RFC 6940 §6.5.1.2)' };
      }
      // §6.5.1.9 for AppAttach: the answerer is controlled and the DTLS client
      const local = channels.accept(d.value, req.origin, sipAddressesOf(d.value));
      if (local === undefined) return { error: ReloadErrorCode.Forbidden, info: 'AppAttach: no ICE channel can be opened now (limit, or no candidate)' };
      const utf8 = new TextEncoder();
      return {
        code: MessageCode.app_attach_ans,
        body: encodeAppAttachReqAns({ ufrag: utf8.encode(local.ufrag), password: utf8.encode(local.password), application: SIP_APPLICATION_ID, role: PASSIVE, candidates: [...local.candidates, ...candidates] }),
      };
    }
    const body = encodeAppAttachReqAns({
      ...iceCredentials(deps.random),
      application: SIP_APPLICATION_ID,
      role: PASSIVE,
      candidates,
    });
    return { code: MessageCode.app_attach_ans, body };
  };
}
