/**
 * The requests that reach the application's users (issue 17), the server side of its user agent:
 * matched to a user or a session, handed to the application's handler under a deadline, answered
 * (defaults when the handler gives none), CANCEL honoured, the 2xx of an INVITE retransmitted until
 * its ACK (RFC 3261 §13.3.1.4). Bounded: requests handled at once, sessions.
 */
import type { Clock, TimerHandle } from '../lib/clock.js';
import { randomToken, type Random } from '../lib/random.js';
import { callId as callIdOf, createResponse, cseqOf, formatUri, isSipUri } from '../sip/message/index.js';
import type { SipRequest, SipResponse } from '../sip/message/sip-message.js';
import type { ServerTransaction, TransactionLayer } from '../sip/transaction/index.js';
import type { InboundMessage } from '../sip/transport/sip-transport.js';
import { P2psipApiError } from './api-error.js';
import { MAX_REQUEST_BODY_BYTES, bodyBytes, checkedHeaders, headerList, textOf, uriOfNameAddr } from './sip-text.js';
import { HANDLER_TIMEOUT_MS, type IncomingRequest, type RequestHandler, type SipReply } from './sip-types.js';
import { MAX_DIALOGS, dialogKey, tagOf, uasDialog, type DialogState } from './ua-dialogs.js';

/** Requests to the application's users being handled at once; past it they are answered 503. */
export const MAX_PENDING_INCOMING = 256;

export interface UaIncomingDeps {
  clock: Clock;
  random: Random;
  tx: Pick<TransactionLayer, 'findCancelTarget'>;
  /** The user agent's sessions (shared: it sends in them too). */
  dialogs: Map<string, DialogState>;
  /** The overlay's SIP domain. */
  domain: string;
  hasUser(user: string): boolean;
  contactOf(user: string): string;
  endDialog(d: DialogState): void;
  handler(): RequestHandler | undefined;
  closed(): boolean;
  onRequest?: ((r: IncomingRequest) => void) | undefined;
  log?: ((obj: object, msg: string) => void) | undefined;
}

export class UaIncoming {
  /** Pending 2xx retransmissions of INVITEs we answered, by Call-ID + CSeq number. */
  private readonly okRetransmits = new Map<string, TimerHandle>();
  private incoming = 0;

  constructor(private readonly deps: UaIncomingDeps) {}

  /** A new request (the transaction layer's TransactionUser.onRequest). */
  onRequest(t: ServerTransaction): void {
    const req = t.request;
    if (this.deps.closed()) {
      t.respond(createResponse(req, 503, 'Service Unavailable'));
      return;
    }
    if (req.method === 'CANCEL') {
      // RFC 3261 §9.2: 200 to the CANCEL; the INVITE, if not answered yet, gets 487
      const invite = this.deps.tx.findCancelTarget(req);
      t.respond(createResponse(req, invite === undefined ? 481 : 200));
      if (invite !== undefined && invite.finalResponse === undefined) invite.respond(createResponse(invite.request, 487, undefined, { toTag: randomToken(this.deps.random, 10) }));
      return;
    }
    const toTag = tagOf(req.headers.get('to'));
    const callId = req.headers.get('call-id') ?? '';
    const dialog = toTag === undefined ? undefined : this.deps.dialogs.get(dialogKey(callId, toTag));
    if (toTag !== undefined && dialog === undefined) {
      t.respond(createResponse(req, 481));
      return;
    }
    const user = dialog !== undefined ? dialog.local.replace(/^sips?:/i, '').split('@')[0] ?? '' : isSipUri(req.uri) ? (req.uri.user ?? '') : '';
    if (dialog === undefined && !this.deps.hasUser(user)) {
      t.respond(createResponse(req, 404, 'Not Found (no such user at this application)'));
      return;
    }
    if (this.incoming >= MAX_PENDING_INCOMING) {
      t.respond(createResponse(req, 503, 'Service Unavailable (too many requests being handled)', { headers: [['Retry-After', '5']] }));
      return;
    }
    if (req.method === 'INVITE' && dialog === undefined && this.deps.dialogs.size >= MAX_DIALOGS) {
      t.respond(createResponse(req, 486, 'Busy Here (too many sessions)'));
      return;
    }
    if (req.method === 'INVITE') t.respond(createResponse(req, 100));
    const view = incomingView(req, user, dialog !== undefined);
    this.deps.onRequest?.(view);
    this.incoming++;
    void this.answer(t, view, dialog).finally(() => {
      this.incoming--;
    });
  }

  private async answer(t: ServerTransaction, view: IncomingRequest, dialog: DialogState | undefined): Promise<void> {
    const req = t.request;
    let reply: SipReply | undefined;
    try {
      reply = await this.callHandler(view);
    } catch (err) {
      this.deps.log?.({ err: err instanceof Error ? err.message : String(err), method: req.method }, 'api user agent: the request handler failed');
      reply = { status: 500, reason: 'Server Internal Error (the application failed)' };
    }
    if (t.state === 'terminated' || t.finalResponse !== undefined) return; // cancelled (487 sent) or gone
    const r = this.normalise(reply, req.method, dialog);
    const toTag = tagOf(req.headers.get('to')) ?? randomToken(this.deps.random, 10);
    const extra: Array<[string, string]> = [...r.headers];
    if (req.method === 'INVITE' && r.status >= 200 && r.status < 300) extra.push(['Contact', `<${this.deps.contactOf(view.user)}>`]);
    // RFC 3261 §12.1.1: a 2xx to INVITE copies the Record-Route set
    if (req.method === 'INVITE') for (const rr of req.headers.getAll('record-route')) extra.push(['Record-Route', rr]);
    const response = createResponse(req, r.status, r.reason, { toTag, headers: extra, body: r.body, ...(r.contentType === undefined ? {} : { contentType: r.contentType }) });
    t.respond(response);
    if (req.method === 'BYE' && dialog !== undefined) this.deps.endDialog(dialog);
    if (req.method === 'INVITE' && dialog === undefined && r.status >= 200 && r.status < 300) {
      const d = uasDialog(req, toTag, `sip:${view.user}@${this.deps.domain}`);
      if (d !== undefined) this.deps.dialogs.set(dialogKey(d.callId, d.localTag), d);
      this.retransmitOk(t, response);
    }
  }

  private async callHandler(view: IncomingRequest): Promise<SipReply | undefined> {
    const h = this.deps.handler();
    if (h === undefined) return undefined;
    let timer: TimerHandle | undefined;
    const late = new Promise<SipReply>((resolve) => {
      timer = this.deps.clock.setTimer(HANDLER_TIMEOUT_MS, () => resolve({ status: 500, reason: 'Server Internal Error (no answer from the application in time)' }));
    });
    try {
      return await Promise.race([Promise.resolve().then(() => h(view)), late]);
    } finally {
      timer?.cancel();
    }
  }

  /** The reply as a status, reason, headers and body; the defaults of {@link RequestHandler} for undefined. */
  private normalise(reply: SipReply | undefined, method: string, dialog: DialogState | undefined): { status: number; reason: string | undefined; headers: Array<[string, string]>; body: Uint8Array; contentType: string | undefined } {
    const fallback = method === 'BYE' ? (dialog === undefined ? 481 : 200) : method === 'OPTIONS' ? 200 : 480;
    try {
      const r = reply === undefined ? { status: fallback } : typeof reply === 'number' ? { status: reply } : reply;
      if (!Number.isInteger(r.status) || r.status < 200 || r.status > 699) throw new P2psipApiError('bad-argument', `a final status is from 200 to 699, got ${String(r.status)}`);
      const reason = r.reason;
      if (reason !== undefined && (typeof reason !== 'string' || reason.length > 128 || /[\r\n\0]/.test(reason))) throw new P2psipApiError('bad-argument', 'a reason phrase is at most 128 characters without CR, LF or NUL');
      const body = bodyBytes(r.body);
      if (body.length > MAX_REQUEST_BODY_BYTES) throw new P2psipApiError('limit', `a reply body of ${body.length} bytes: at most ${MAX_REQUEST_BODY_BYTES}`);
      const contentType = body.length === 0 ? undefined : (r.contentType ?? (typeof r.body === 'string' ? 'text/plain;charset=utf-8' : 'application/octet-stream'));
      return { status: r.status, reason, headers: checkedHeaders(r.headers), body, contentType };
    } catch (err) {
      this.deps.log?.({ err: err instanceof Error ? err.message : String(err) }, 'api user agent: the handler gave an unusable reply');
      return { status: 500, reason: 'Server Internal Error (unusable reply from the application)', headers: [], body: new Uint8Array(0), contentType: undefined };
    }
  }

  /** RFC 3261 §13.3.1.4: the 2xx again at T1, 2·T1 … up to T2, until the ACK (or 64·T1, when the transaction ends). */
  private retransmitOk(t: ServerTransaction, response: SipResponse): void {
    const key = `${callIdOf(t.request)}\n${cseqOf(t.request).seq}`;
    let interval = 500;
    const tick = (): void => {
      if (this.deps.closed() || t.state === 'terminated' || !this.okRetransmits.has(key)) {
        this.okRetransmits.delete(key);
        return;
      }
      t.respond(response);
      interval = Math.min(interval * 2, 4_000);
      this.okRetransmits.set(key, this.deps.clock.setTimer(interval, tick));
    };
    this.okRetransmits.set(key, this.deps.clock.setTimer(interval, tick));
  }

  /** An ACK no transaction took: the ACK of a 2xx we sent (TransactionUser.onAck). */
  onAck(inbound: InboundMessage): void {
    const m = inbound.message;
    if (m.kind !== 'request') return;
    try {
      const key = `${callIdOf(m)}\n${cseqOf(m).seq}`;
      this.okRetransmits.get(key)?.cancel();
      this.okRetransmits.delete(key);
    } catch {
      // an ACK without Call-ID / CSeq: nothing to stop
    }
  }


  /** Stops the 2xx retransmissions (the user agent closes). */
  stop(): void {
    for (const t of this.okRetransmits.values()) t.cancel();
    this.okRetransmits.clear();
  }
}

function incomingView(req: SipRequest, user: string, inDialog: boolean): IncomingRequest {
  const headers = req.headers.clone();
  return {
    method: req.method,
    uri: formatUri(req.uri),
    from: uriOfNameAddr(headers.get('from')),
    to: uriOfNameAddr(headers.get('to')),
    user,
    callId: headers.get('call-id') ?? '',
    headers: headerList(headers),
    header: (name: string) => headers.get(name),
    body: req.body,
    text: textOf(req.body),
    inDialog,
  };
}

