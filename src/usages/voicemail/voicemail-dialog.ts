/**
 * The dialog of a call the voicemail answers, as its UAS (RFC 3261 §12.1.1): what our 2xx to the
 * INVITE sets up, and the BYE we send in it (§15.1.1, §12.2.1.1) when we end the call (the recording
 * reached its maximum, the caller pressed the finish key, the mailbox menu said goodbye). The BYE has
 * no Via: the host's `send` adds it and sends to {@link nextHopUri} (as presence NOTIFYs go).
 */
import { parseUri } from '../../sip/message/index.js';
import type { SipRequest } from '../../sip/message/sip-message.js';
import { uasDialogOf, uasDialogRequest, type UasDialog } from '../presence/notify-request.js';

/** Our side of the call's dialog (presence/notify-request.ts UasDialog) and the INVITE's CSeq. */
export interface CallDialog extends UasDialog {
  /** The INVITE's CSeq number (its ACK has the same). */
  inviteSeq: number;
}

export type CallDialogResult = { ok: true; dialog: CallDialog } | { ok: false; reason: string };

/** The dialog our 2xx with `localTag` to `invite` creates. */
export function callDialog(invite: SipRequest, localTag: string, inviteSeq: number): CallDialogResult {
  const d = uasDialogOf(invite, localTag);
  return d.ok ? { ok: true, dialog: { ...d.dialog, inviteSeq } } : d;
}

/** A BYE in `dialog` (its CSeq taken from the dialog, which it advances). No Via. */
export function buildBye(dialog: CallDialog, localContact: string, reason?: string): SipRequest {
  const { ruri, headers: h } = uasDialogRequest(dialog, 'BYE', localContact);
  if (reason !== undefined) h.append('Reason', `SIP;cause=200;text="${reason.replace(/["\\\r\n]/g, '')}"`);
  h.append('Content-Length', '0');
  return { kind: 'request', method: 'BYE', uri: parseUri(ruri), version: 'SIP/2.0', headers: h, body: new Uint8Array(0) };
}
