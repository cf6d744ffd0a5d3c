/**
 * The SIP message model (RFC 3261 §7). Header fields are kept as received (name as written,
 * value verbatim) so unknown headers and bodies pass through a proxy byte-exactly; typed views
 * (Via, name-addr, CSeq, …) come from the parse functions of this folder, on demand.
 *
 * CONTRACT shared by the message, transport, transaction and core modules: change it only with
 * every user of it in view.
 */
import type { SipHeaders } from './sip-headers.js';

/** A URI parameter: `;name=value` or `;name` (value undefined). Names compare case-insensitively. */
export interface Param {
  name: string;
  value: string | undefined;
}

/** sip: / sips: URI (RFC 3261 §19.1). Text fields keep their %-escapes as written. */
export interface SipUri {
  scheme: 'sip' | 'sips';
  user: string | undefined;
  password: string | undefined;
  /** Host as written; IPv6 references keep their brackets: `[2001:db8::1]`. */
  host: string;
  port: number | undefined;
  params: Param[];
  /** The `?h=v&…` part without the `?`, as written; undefined when absent. */
  headers: string | undefined;
}

/** tel: URI (RFC 3966). */
export interface TelUri {
  scheme: 'tel';
  number: string;
  params: Param[];
}

/** Any other absolute URI (RFC 3261 `absoluteURI`), kept verbatim. `scheme` is lowercase. */
export interface OtherUri {
  scheme: string;
  raw: string;
}

export type Uri = SipUri | TelUri | OtherUri;

export interface SipRequest {
  readonly kind: 'request';
  method: string;
  uri: Uri;
  /** Always 'SIP/2.0' for parsed messages (others are answered 505). */
  version: string;
  headers: SipHeaders;
  body: Uint8Array;
}

export interface SipResponse {
  readonly kind: 'response';
  status: number;
  reason: string;
  version: string;
  headers: SipHeaders;
  body: Uint8Array;
}

export type SipMessage = SipRequest | SipResponse;

/** One Via header value (RFC 3261 §20.42, RFC 3581 rport). */
export interface Via {
  /** `SIP/2.0` protocol name/version as written, e.g. 'SIP/2.0'. */
  protocol: string;
  /** Transport token uppercased: 'UDP', 'TCP', 'TLS', 'WS', 'WSS', 'SCTP', or any other token. */
  transport: string;
  /** sent-by host as written (IPv6 with brackets). */
  host: string;
  port: number | undefined;
  params: Param[];
}

/** name-addr / addr-spec with header params (From, To, Contact, Route, Record-Route…). */
export interface NameAddr {
  /** Display name without quotes/unescaped, undefined when absent. */
  displayName: string | undefined;
  uri: Uri;
  /** Header parameters (after the URI / `>`), e.g. tag, expires, q. */
  params: Param[];
}

export interface CSeq {
  seq: number;
  method: string;
}

/** Size limits applied to everything that arrives from the network (DESIGN: every limit explicit). */
export interface SipLimits {
  /** Largest whole message (start line + headers + body), bytes. Default 65535. */
  maxMessageBytes: number;
  /** Largest header section (start line to blank line), bytes. Default 32768. */
  maxHeaderBytes: number;
  /** Most header fields (after splitting nothing: one per line/field). Default 128. */
  maxHeaderCount: number;
  /** Longest single (unfolded) header line, bytes. Default 8192. */
  maxLineLength: number;
  /** Largest body, bytes. Default 65535 - header section. Default 60000. */
  maxBodyBytes: number;
}

export const DEFAULT_SIP_LIMITS: Readonly<SipLimits> = Object.freeze({
  maxMessageBytes: 65535,
  maxHeaderBytes: 32768,
  maxHeaderCount: 128,
  maxLineLength: 8192,
  maxBodyBytes: 60000,
});
