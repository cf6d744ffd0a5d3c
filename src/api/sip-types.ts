/**
 * The SIP side of the library API as the application sees it (issue 17): plain data, no internal
 * classes. Header names keep the case they were written with; lookups ignore case and understand
 * compact forms (RFC 3261 §7.3.3).
 */

/** A header field: [name, value]. */
export type SipHeader = readonly [name: string, value: string];

/** A request the application sends through the overlay (`Peer.request`). */
export interface OutgoingRequest {
  /** The method, e.g. 'MESSAGE', 'INVITE', 'OPTIONS', 'INFO' (not REGISTER, ACK, CANCEL, BYE: the API sends those itself). */
  method: string;
  /** Whom to: an AoR `sip:bob@domain`, `bob@domain`, or only `bob` (the overlay's domain). */
  to: string;
  /** The application's user it comes from (one registered with `Peer.register`); default: the first registered, else anonymous. */
  from?: string;
  /** Extra header fields (not Via, From, To, Call-ID, CSeq, Max-Forwards, Contact, Content-Length: the API writes those). */
  headers?: readonly SipHeader[];
  /** The body (a string is sent as UTF-8). */
  body?: string | Uint8Array;
  /** Content-Type of the body (default text/plain for a string body, application/octet-stream else). */
  contentType?: string;
  /** Longest wait for the final response, ms (default {@link DEFAULT_REQUEST_TIMEOUT_MS}); then 408. */
  timeoutMs?: number;
}

/** Default wait for a final response: RFC 3261 Timer F / Timer B, 64 × T1. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 32_000;

/** A final response (or one made up locally: 408 on timeout, 503 when the peer's SIP front cannot be reached). */
export interface SipResult {
  status: number;
  reason: string;
  /** Every header field, in order. */
  headers: readonly SipHeader[];
  /** The first value of a header field (case-insensitive), or undefined. */
  header(name: string): string | undefined;
  body: Uint8Array;
  /** The body as UTF-8 text. */
  text: string;
  /** True when no response came from the network (timeout, transport error, the peer stopped). */
  local: boolean;
  /** For a 2xx to INVITE: the session it set up (already acknowledged with ACK). */
  dialog?: Dialog;
}

/** A session set up by INVITE (RFC 3261 §12), from either side. */
export interface Dialog {
  readonly callId: string;
  /** The AoR of the other side. */
  readonly remote: string;
  /** The application's user in it. */
  readonly local: string;
  /** The session description the other side sent (offer or answer), as text; '' if none. */
  readonly remoteSdp: string;
  /** Ends the session with BYE; resolves with the BYE's final response. */
  bye(): Promise<SipResult>;
  /** Resolves when the session ends (our BYE or theirs). */
  readonly ended: Promise<void>;
}

/** A request that reached one of the application's users (`Peer.onRequest`). */
export interface IncomingRequest {
  method: string;
  /** The Request-URI as received. */
  uri: string;
  /** The AoR of the sender (From, without display name and tag). */
  from: string;
  /** The To URI. */
  to: string;
  /** The application's user it reached. */
  user: string;
  callId: string;
  headers: readonly SipHeader[];
  header(name: string): string | undefined;
  body: Uint8Array;
  text: string;
  /** Inside a dialog (a BYE or re-INVITE of a session), false for a new request. */
  inDialog: boolean;
}

/** How the application answers: a status alone, or with a reason, headers and a body. */
export type SipReply = number | { status: number; reason?: string; headers?: readonly SipHeader[]; body?: string | Uint8Array; contentType?: string };

/**
 * Answers requests to the application's users. It may be async; its answer is sent within
 * {@link HANDLER_TIMEOUT_MS} or the request is answered 500. Returning undefined answers the default:
 * 200 for BYE of a known session and OPTIONS, 481 for BYE of an unknown one, 480 for anything else.
 */
export type RequestHandler = (request: IncomingRequest) => SipReply | undefined | Promise<SipReply | undefined>;

/** Longest time a handler may take, ms (then 500). */
export const HANDLER_TIMEOUT_MS = 10_000;
