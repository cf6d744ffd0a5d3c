/**
 * The presence agent of this peer's users (issue 16): it answers PUBLISH (RFC 3903, the presence
 * package of RFC 3856 with PIDF bodies, RFC 3863) and SUBSCRIBE (RFC 6665) for the presence, dialog
 * (RFC 4235) and message-summary (RFC 3842) packages, and sends the NOTIFYs. A presentity whose
 * phones are at another peer is served exactly like a local one: every state comes through the
 * host (the overlay), this peer's own publications included in what it tells the others.
 *
 * Plugged into the proxy as its {@link LocalServices} (claim only).
 */
import { fromAorOf, type LocalServices, type ServiceRequest } from '../../sip/core/local-services.js';
import { createResponse, cseqOf, parseContentType, parseDeltaSeconds } from '../../sip/message/index.js';
import type { SipRequest } from '../../sip/message/sip-message.js';
import type { OutboundTarget } from '../../sip/transport/sip-transport.js';
import { DIALOG_INFO_CONTENT_TYPE, dialogInfoDocument, type CallStateSource } from './dialog-info.js';
import { acceptsType, parseEventHeader, type EventHeader } from './event-header.js';
import { MESSAGE_SUMMARY_CONTENT_TYPE, messageSummaryBody, type MessageSummarySource } from './message-summary.js';
import { tagOfParty } from './notify-request.js';
import { PIDF_CONTENT_TYPE, composePidf, parsePidf, registrationTuple, type PidfElement, type PidfTuple } from './pidf.js';
import { isWatcherAllowed } from './presence-authorization.js';
import type { PresenceHost, PresenceState } from './presence-host.js';
import { PublicationStore, type PublicationLimits } from './publications.js';
import type { EventPackage, EventState } from './event-package.js';
import type { SubscriptionLimits } from './subscription-limits.js';
import { Notifier, type NotifierStats, type SubscribeOutcome } from './subscriptions.js';

export interface PresenceServiceOptions {
  /**
   * True when the proxy authenticates our phones: a PUBLISH must come from the presentity's own
   * digest user (ServiceRequest.user), a SUBSCRIBE from an authenticated watcher (or another peer).
   * False (an open overlay): the From header names the watcher, anyone may PUBLISH.
   */
  requireAuth: boolean;
  publications?: Partial<PublicationLimits>;
  subscriptions?: Partial<SubscriptionLimits>;
}

export interface PresenceServiceStats extends NotifierStats {
  publications: number;
}

/** Retry-After of the 503 sent while the service shuts down, s. */
const CLOSING_RETRY_AFTER = 5;
/** Longest reason phrase made from a parser's message, characters. */
const MAX_REASON_CHARS = 160;

export class PresenceService implements LocalServices {
  private readonly store: PublicationStore;
  private readonly notifier: Notifier;
  private readonly packages = new Map<string, EventPackage>();
  private closed = false;

  constructor(
    private readonly host: PresenceHost,
    private readonly options: PresenceServiceOptions,
  ) {
    this.store = new PublicationStore({ clock: host.clock, random: host.random, onExpired: (aor) => this.localChange(aor) }, options.publications);
    this.notifier = new Notifier({ clock: host.clock, send: (req, arrivedOn) => host.send(req, arrivedOn), localContact: () => host.localContact() }, options.subscriptions);
    this.packages.set('presence', this.presencePackage());
    if (host.callState !== undefined) this.packages.set('dialog', dialogPackage(host.callState));
    if (host.messageSummary !== undefined) this.packages.set('message-summary', messageSummaryPackage(host.messageSummary));
  }

  /** The packages offered, for Allow-Events. */
  allowEvents(): string {
    return [...this.packages.keys()].join(', ');
  }

  stats(): PresenceServiceStats {
    return { ...this.notifier.stats(), publications: this.store.size };
  }

  claim(r: ServiceRequest): boolean {
    const method = r.request.method;
    if (method === 'PUBLISH') {
      if (r.aor === undefined) return false;
      if (this.closed) return this.closing(r);
      this.publish(r, r.aor);
      return true;
    }
    if (method === 'SUBSCRIBE') return this.subscribe(r);
    return false;
  }

  divert(): boolean {
    return false;
  }

  /**
   * Shutdown: every subscription ends with NOTIFY terminated;reason=deactivated (see
   * Notifier.terminateAll), this peer's publications are withdrawn from the overlay and forgotten.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const aors = this.store.aors();
    this.store.clear();
    const empty: PresenceState = { tuples: [], elements: [] };
    await Promise.all([this.notifier.terminateAll(), ...aors.map((aor) => this.host.presence.publish(aor, empty).catch(() => undefined))]);
  }

  // —— PUBLISH (RFC 3903 §6) ——

  private publish(r: ServiceRequest, aor: string): void {
    const req = r.request;
    // §6 step 2: the event package
    const event = parseEventHeader(req.headers.get('event'));
    if (event === undefined || event.event !== 'presence') {
      return this.reply(r, 489, 'Bad Event', [['Allow-Events', 'presence']]);
    }
    // §6 step 3: only the presentity's own phones publish its state
    if (!this.mayPublish(r, aor)) return this.reply(r, 403, 'Forbidden - Only the user may publish its presence');
    let expires: number | undefined;
    try {
      const e = req.headers.get('expires');
      expires = e === undefined ? undefined : parseDeltaSeconds(e);
    } catch {
      return this.reply(r, 400, 'Bad Request - Unreadable Expires');
    }
    const ifMatch = req.headers.get('sip-if-match')?.trim();
    let document: { tuples: PidfTuple[]; elements: PidfElement[] } | undefined;
    if (req.body.length > 0) {
      if (!this.isPidf(req.headers.get('content-type')) || req.headers.has('content-encoding')) {
        return this.reply(r, 415, 'Unsupported Media Type', [['Accept', PIDF_CONTENT_TYPE]]);
      }
      const parsed = parsePidf(new TextDecoder().decode(req.body));
      if (!parsed.ok) return this.reply(r, 400, clip(`Bad Request - Invalid PIDF: ${parsed.error.message}`));
      document = parsed.document;
    }
    const out = this.store.handle({ aor, etag: ifMatch === '' ? undefined : ifMatch, expires, document });
    switch (out.status) {
      case 200:
        this.reply(r, 200, 'OK', out.etag === '' ? [['Expires', '0']] : [['SIP-ETag', out.etag], ['Expires', String(out.expires)]]);
        if (out.changed) this.localChange(aor);
        return;
      case 400:
        return this.reply(r, 400, out.reason);
      case 412:
        return this.reply(r, 412, 'Conditional Request Failed');
      case 423:
        return this.reply(r, 423, 'Interval Too Brief', [['Min-Expires', String(out.minExpires)]]);
      case 503:
        return this.reply(r, 503, out.reason, [['Retry-After', String(out.retryAfter)]]);
    }
  }

  private mayPublish(r: ServiceRequest, aor: string): boolean {
    if (r.user !== undefined) return r.user === aor;
    if (!this.options.requireAuth) return true;
    // another peer forwarded it (it authenticated its phone): the From must be the presentity
    return r.fromPeer && this.fromAor(r) === aor;
  }

  private isPidf(contentType: string | undefined): boolean {
    if (contentType === undefined) return false;
    try {
      const t = parseContentType(contentType);
      return `${t.type}/${t.subtype}` === PIDF_CONTENT_TYPE;
    } catch {
      return false;
    }
  }

  /** This peer's publications of `aor` changed: the overlay is told, and our watchers of it. */
  private localChange(aor: string): void {
    void this.host.presence.publish(aor, this.store.state(aor)).catch(() => undefined);
    this.notifier.changed('presence', aor);
  }

  // —— SUBSCRIBE (RFC 6665 §4.2.1) ——

  private subscribe(r: ServiceRequest): boolean {
    const req = r.request;
    const event = parseEventHeader(req.headers.get('event'));
    const toTag = tagOfParty(req.headers.get('to'));
    const pkg = event === undefined ? undefined : this.packages.get(event.event);
    if (toTag !== undefined) {
      // in a dialog: ours when it names one of our packages (an unknown subscription is 481)
      if (pkg === undefined || event === undefined) return false;
      if (this.closed) return this.closing(r);
      this.refresh(r, event, toTag);
      return true;
    }
    if (r.aor === undefined) return false;
    if (event === undefined) {
      if (req.headers.has('event')) return this.claimed(r, 400, 'Bad Request - Unreadable Event');
      return this.claimed(r, 489, 'Bad Event', [['Allow-Events', this.allowEvents()]]);
    }
    // a package we do not serve goes on to the user's phones (they may serve it, or answer 489)
    if (pkg === undefined) return false;
    if (this.closed) return this.closing(r);
    this.newSubscription(r, r.aor, event, pkg).catch(() => this.reply(r, 500, 'Server Internal Error - Subscription failed'));
    return true;
  }

  private refresh(r: ServiceRequest, event: EventHeader, toTag: string): void {
    const req = r.request;
    const fromTag = tagOfParty(req.headers.get('from'));
    const read = expiresAndCseq(req);
    if (read === undefined) return this.reply(r, 400, 'Bad Request - Unreadable Expires or CSeq');
    const { expires, cseq } = read;
    if (fromTag === undefined) return this.reply(r, 481, 'Call/Transaction Does Not Exist');
    this.answerSubscribe(r, this.notifier.refresh(req, event, fromTag, toTag, expires, cseq, arrivedOn(r)));
  }

  private async newSubscription(r: ServiceRequest, presentity: string, event: EventHeader, pkg: EventPackage): Promise<void> {
    const req = r.request;
    if (!acceptsType(req.headers.getAll('accept'), pkg.contentType)) return this.reply(r, 406, 'Not Acceptable', [['Accept', pkg.contentType]]);
    const read = expiresAndCseq(req);
    if (read === undefined) return this.reply(r, 400, 'Bad Request - Unreadable Expires or CSeq');
    const { expires, cseq } = read;
    const watcher = r.user ?? this.fromAor(r);
    if (watcher === undefined) return this.reply(r, 400, 'Bad Request - Unreadable From');
    if (this.options.requireAuth && r.user === undefined && !r.fromPeer) return this.reply(r, 403, 'Forbidden - Authentication required');
    if (!(await this.allowed(pkg.event, watcher, presentity))) return this.reply(r, 403, 'Forbidden - Not authorized to watch');
    if (this.closed) return void this.closing(r);
    this.answerSubscribe(r, this.notifier.subscribe({ request: req, pkg, event, presentity, watcher, toTag: r.toTag, expires, cseq, arrivedOn: arrivedOn(r) }));
  }

  /**
   * Presence and dialog state follow the presentity's allow/deny rules; message-summary (voicemail)
   * is the user's own business: only the user may watch it.
   */
  private async allowed(event: string, watcher: string, presentity: string): Promise<boolean> {
    if (event === 'message-summary') return watcher === presentity;
    const store = this.host.rules;
    if (store === undefined) return true;
    try {
      return isWatcherAllowed(await store.rules(presentity), watcher, presentity);
    } catch {
      return false;
    }
  }

  private answerSubscribe(r: ServiceRequest, out: SubscribeOutcome): void {
    switch (out.status) {
      case 200:
        return this.reply(r, 200, 'OK', [
          ['Expires', String(out.expires)],
          ['Contact', `<${this.host.localContact()}>`],
        ]);
      case 423:
        return this.reply(r, 423, 'Interval Too Brief', [['Min-Expires', String(out.minExpires)]]);
      case 503:
        return this.reply(r, 503, out.reason, [['Retry-After', String(out.retryAfter)]]);
      default:
        return this.reply(r, out.status, out.reason);
    }
  }

  // —— the presence package (RFC 3856) ——

  private presencePackage(): EventPackage {
    const host = this.host;
    return {
      event: 'presence',
      contentType: PIDF_CONTENT_TYPE,
      defaultExpires: 3600,
      state: async (aor: string): Promise<EventState> => {
        const snapshot = await host.presence.fetch(aor);
        const own = this.store.state(aor);
        const tuples = [...own.tuples, ...snapshot.published.flatMap((p) => p.tuples)];
        const elements = [...own.elements, ...snapshot.published.flatMap((p) => p.elements)];
        // a user whose phones never PUBLISH: open while registered (like Kamailio's pua_usrloc)
        if (tuples.length === 0) tuples.push(registrationTuple(aor, snapshot.registered));
        const text = composePidf(aor, tuples, elements);
        return { key: text, body: () => text };
      },
      watch: (aor, onChange) => host.presence.watch(aor, onChange),
    };
  }

  // —— helpers ——

  private fromAor(r: ServiceRequest): string | undefined {
    return fromAorOf(r.request, this.host.canonicalAor === undefined ? undefined : (uri) => this.host.canonicalAor!(uri));
  }


  private closing(r: ServiceRequest): true {
    this.reply(r, 503, 'Service Unavailable - Shutting down', [['Retry-After', String(CLOSING_RETRY_AFTER)]]);
    return true;
  }

  private claimed(r: ServiceRequest, status: number, reason: string, headers: Array<[string, string]> = []): true {
    this.reply(r, status, reason, headers);
    return true;
  }

  private reply(r: ServiceRequest, status: number, reason: string, headers: Array<[string, string]> = []): void {
    if (r.tx.state === 'terminated' || r.tx.finalResponse !== undefined) return;
    r.tx.respond(createResponse(r.request, status, reason, { toTag: r.toTag, headers }));
  }
}

/** Where a request came from: its source and connection (a NOTIFY to a phone behind NAT or on WebSocket goes back there). */
function arrivedOn(r: ServiceRequest): OutboundTarget {
  return { destination: r.tx.inbound.source, flowId: r.tx.inbound.flowId };
}

function clip(reason: string): string {
  const one = reason.replace(/[\r\n\0]+/g, ' ');
  return one.length > MAX_REASON_CHARS ? `${one.slice(0, MAX_REASON_CHARS - 1)}…` : one;
}

/** The dialog package (RFC 4235): full state, the version counting the subscription's NOTIFYs. */
function dialogPackage(source: CallStateSource): EventPackage {
  return {
    event: 'dialog',
    contentType: DIALOG_INFO_CONTENT_TYPE,
    defaultExpires: 3600,
    state: async (aor: string): Promise<EventState> => {
      const dialogs = [...(await source.dialogs(aor))];
      // validated now: a state the document cannot carry fails here, not in the NOTIFY
      dialogInfoDocument(aor, 0, dialogs);
      return { key: JSON.stringify(dialogs), body: (version) => dialogInfoDocument(aor, version, dialogs) };
    },
    watch: (aor, onChange) => source.watch(aor, onChange),
  };
}

/** The message-summary package (RFC 3842). */
function messageSummaryPackage(source: MessageSummarySource): EventPackage {
  return {
    event: 'message-summary',
    contentType: MESSAGE_SUMMARY_CONTENT_TYPE,
    defaultExpires: 3600,
    state: async (aor: string): Promise<EventState> => {
      const text = messageSummaryBody(aor, await source.summary(aor));
      return { key: text, body: () => text };
    },
    watch: (aor, onChange) => source.watch(aor, onChange),
  };
}

/** A SUBSCRIBE's Expires (undefined when absent) and CSeq number; undefined when either is unreadable. */
function expiresAndCseq(req: SipRequest): { expires: number | undefined; cseq: number } | undefined {
  try {
    const e = req.headers.get('expires');
    return { expires: e === undefined ? undefined : parseDeltaSeconds(e), cseq: cseqOf(req).seq };
  } catch {
    return undefined;
  }
}
