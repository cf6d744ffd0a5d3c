/**
 * The sessions (INVITE dialogs, RFC 3261 §12) of the application's user agent: what each side needs
 * to send ACK and BYE inside them, and a bounded table. Plain state; the user agent sends.
 */
import { cseqOf, formatUri, parseNameAddrList } from '../sip/message/index.js';
import type { SipRequest, SipResponse } from '../sip/message/sip-message.js';
import type { OutboundTarget } from '../sip/transport/sip-transport.js';
import { sipUriOf, uriOfNameAddr } from './sip-text.js';

/** Sessions one user agent keeps at once; past it a new INVITE is answered 486 / refused locally. */
export const MAX_DIALOGS = 1_024;

export interface DialogState {
  callId: string;
  localTag: string;
  remoteTag: string;
  /** Our From/To value in requests we send in the dialog (with our tag). */
  localParty: string;
  /** Their From/To value in requests we send (with their tag). */
  remoteParty: string;
  /** The remote target (their Contact URI), the Request-URI of our requests in the dialog. */
  remoteTarget: string;
  /** Route values for our requests in the dialog (RFC 3261 §12.1.1 / §12.1.2). */
  routeSet: string[];
  /** Our next CSeq number in the dialog. */
  localSeq: number;
  /** AoRs: theirs and our user's. */
  remote: string;
  local: string;
  remoteSdp: string;
  ended: boolean;
  end: () => void;
  endedPromise: Promise<void>;
}

/** Each Record-Route value of a message, in order (comma-separated lists split). */
export function recordRoutes(m: SipRequest | SipResponse): string[] {
  const out: string[] = [];
  for (const v of m.headers.getAll('record-route')) {
    try {
      for (const na of parseNameAddrList(v, 'Record-Route')) out.push(`<${formatUri(na.uri)}>`);
    } catch {
      // an unreadable Record-Route: the dialog goes without it
    }
  }
  return out;
}

/** Where a request inside a dialog goes: its first Route (loose routing, RFC 3261 §12.2.1.1), else the remote target. */
export function dialogTarget(routeSet: readonly string[], remoteTarget: string): OutboundTarget | undefined {
  const first = routeSet[0];
  const uri = first === undefined ? sipUriOf(`<${remoteTarget}>`) : sipUriOf(first);
  if (uri === undefined) return undefined;
  const host = uri.host.startsWith('[') ? uri.host.slice(1, -1) : uri.host;
  return { destination: { protocol: 'udp', host, port: uri.port ?? 5060 } };
}

export function newDialogState(o: Omit<DialogState, 'ended' | 'end' | 'endedPromise'>): DialogState {
  let end = (): void => {};
  const endedPromise = new Promise<void>((resolve) => {
    end = resolve;
  });
  const d: DialogState = { ...o, ended: false, end: () => undefined, endedPromise };
  d.end = () => {
    d.ended = true;
    end();
  };
  return d;
}

/** The dialog a UAC sets up from its INVITE and the 2xx (RFC 3261 §12.1.2). */
export function uacDialog(invite: SipRequest, ok: SipResponse, remoteTag: string, local: string): DialogState | undefined {
  const contact = ok.headers.get('contact');
  if (contact === undefined) return undefined;
  const target = uriOfNameAddr(contact);
  return newDialogState({
    callId: ok.headers.get('call-id') ?? '',
    localTag: tagOf(invite.headers.get('from')) ?? '',
    remoteTag,
    localParty: invite.headers.get('from') ?? '',
    remoteParty: ok.headers.get('to') ?? '',
    remoteTarget: target,
    routeSet: recordRoutes(ok).reverse(),
    localSeq: cseqOf(invite).seq + 1,
    remote: uriOfNameAddr(ok.headers.get('to')),
    local,
    remoteSdp: new TextDecoder().decode(ok.body),
  });
}

/** The dialog a UAS sets up from an INVITE it answers 2xx with `localTag` (RFC 3261 §12.1.1). */
export function uasDialog(invite: SipRequest, localTag: string, local: string): DialogState | undefined {
  const contact = invite.headers.get('contact');
  const from = invite.headers.get('from');
  const to = invite.headers.get('to');
  if (contact === undefined || from === undefined || to === undefined) return undefined;
  return newDialogState({
    callId: invite.headers.get('call-id') ?? '',
    localTag,
    remoteTag: tagOf(from) ?? '',
    localParty: tagOf(to) === undefined ? `${to};tag=${localTag}` : to,
    remoteParty: from,
    remoteTarget: uriOfNameAddr(contact),
    routeSet: recordRoutes(invite),
    localSeq: 1,
    remote: uriOfNameAddr(from),
    local,
    remoteSdp: new TextDecoder().decode(invite.body),
  });
}

/** The `tag` parameter of a From/To value. */
export function tagOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /;\s*tag\s*=\s*([^;\s,]+)/i.exec(value.slice(value.lastIndexOf('>') + 1));
  return m?.[1];
}

export function dialogKey(callId: string, localTag: string): string {
  return `${callId}\n${localTag}`;
}
