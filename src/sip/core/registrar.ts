/**
 * The registrar (RFC 3261 §10.3) behind a `LocationService`.
 */
import type { Clock } from '../../lib/clock.js';
import {
  createResponse,
  formatNameAddr,
  paramValue,
  parseContact,
  parseNameAddr,
  parseDeltaSeconds,
  removeParam,
  setParam,
  callId as callIdOf,
  cseqOf,
} from '../message/index.js';
import type { NameAddr, SipRequest, SipResponse } from '../message/sip-message.js';
import type { ServerTransaction } from '../transaction/transaction-contract.js';
import { aorProblem } from './aor-validation.js';
import type { LocalIdentity } from './local-identity.js';
import { LocationUpdateError, type Binding, type BindingChange, type BindingUpdateResult, type LocationService } from './location-service.js';

/** A REGISTER and the way back to its sender: a server transaction, or a stateless exchange. */
export type RegisterExchange = Pick<ServerTransaction, 'request' | 'inbound' | 'respond'>;

export interface RegistrarOptions {
  /** Lifetime when the REGISTER names none, seconds (default 3600). */
  defaultExpires: number;
  /** Shortest accepted lifetime; shorter non-zero asks get 423 (default 60). */
  minExpires: number;
  /** Longest granted lifetime; longer asks are shortened (default 7200). */
  maxExpires: number;
  /**
   * Longest Contact kept, UTF-8 bytes of the name-addr as kept (display name, URI, header
   * parameters other than expires; default 2,048). A REGISTER listing a longer one gets 400.
   */
  maxContactBytes: number;
  /** Longest Call-ID of a REGISTER that lists Contacts, UTF-8 bytes (default 255, as Kamailio's); longer: 400. */
  maxCallIdBytes: number;
}

export const DEFAULT_REGISTRAR_OPTIONS: Readonly<RegistrarOptions> = Object.freeze({
  defaultExpires: 3600,
  minExpires: 60,
  maxExpires: 7200,
  maxContactBytes: 2_048,
  maxCallIdBytes: 255,
});

export interface RegistrarDeps {
  clock: Clock;
  location: LocationService;
  identity: LocalIdentity;
  /** Extra headers on every response (Server, Allow…). */
  commonHeaders: () => Array<[string, string]>;
  /** Keeps a connection open (no idle close) for this long: phones registered over TCP/TLS/WS. */
  holdFlow?: (flowId: string, durationMs: number) => void;
  /** Called after a successful change, for metrics/events. */
  onRegistered?: (aor: string, bindings: Binding[]) => void;
}

export class Registrar {
  private readonly options: RegistrarOptions;

  constructor(
    private readonly deps: RegistrarDeps,
    options: Partial<RegistrarOptions> = {},
  ) {
    this.options = { ...DEFAULT_REGISTRAR_OPTIONS, ...options };
  }

  /**
   * Handles a REGISTER whose Request-URI names a domain we serve. `tx` is its server transaction,
   * or — when answered statelessly (RFC 3261 §8.2.7) — anything that can say where it came from
   * and send the answer back.
   */
  async handle(tx: RegisterExchange, toTag: string): Promise<void> {
    const response = await this.process(tx.request, tx, toTag).catch((err: unknown) =>
      createResponse(tx.request, 500, `Server Internal Error - ${err instanceof Error ? err.message : 'registrar failure'}`, { toTag }),
    );
    tx.respond(response);
  }

  private async process(req: SipRequest, tx: RegisterExchange, toTag: string): Promise<SipResponse> {
    const reply = (status: number, reason?: string, headers: Array<[string, string]> = []): SipResponse =>
      createResponse(req, status, reason, { toTag, headers: [...headers, ...this.deps.commonHeaders()] });

    // §10.3 step 5: the AoR is the To URI in canonical form.
    const toValue = req.headers.get('to');
    if (toValue === undefined) return reply(400, 'Bad Request - Missing To header');
    const to = parseNameAddr(toValue);
    const aor = this.deps.identity.canonicalAor(to.uri);
    if (aor === undefined) return reply(404, 'Not Found - To header has no address-of-record user');
    if (!this.deps.identity.isLocalDomainUri(to.uri)) return reply(403, 'Forbidden - Domain not served by this registrar');
    // issue 14: an AoR that may not be stored (control characters, '@', too long) is refused here,
    // before the location service or the overlay sees it
    const bad = aorProblem(aor);
    if (bad !== undefined) return reply(400, `Bad Request - ${bad}`);

    const contactValues = req.headers.getAll('contact');
    const headerExpires = req.headers.get('expires');
    let defaultExpires = this.options.defaultExpires;
    if (headerExpires !== undefined) defaultExpires = parseDeltaSeconds(headerExpires);

    const callId = callIdOf(req);
    const cseq = cseqOf(req).seq;
    const base: Omit<BindingChange, 'contacts'> = {
      callId,
      cseq,
      source: tx.inbound.source,
      flowId: tx.inbound.flowId,
    };

    let change: BindingChange;
    if (contactValues.length === 0) {
      // A query: answer with the current bindings.
      return this.ok(req, aor, await this.deps.location.lookup(aor), reply);
    }
    const parsed = contactValues.map((v) => parseContact(v));
    const hasStar = parsed.some((p) => p === '*');
    if (hasStar) {
      // §10.3 step 6: '*' only alone and with Expires: 0.
      if (parsed.length !== 1 || headerExpires === undefined || parseDeltaSeconds(headerExpires) !== 0) {
        return reply(400, 'Bad Request - Contact * requires Expires: 0 and no other Contact');
      }
      change = { ...base, contacts: '*' };
    } else {
      // issue 14: what a binding keeps is bounded before anything is kept (Kamailio: contact_max_size, 400)
      const callIdBytes = Buffer.byteLength(callId);
      if (callIdBytes > this.options.maxCallIdBytes) {
        return reply(400, `Bad Request - Call-ID too long (${callIdBytes} bytes, at most ${this.options.maxCallIdBytes})`);
      }
      const contacts: Array<{ contact: NameAddr; expiresSec: number; q: number }> = [];
      for (const list of parsed as NameAddr[][]) {
        for (const c of list) {
          const e = paramValue(c.params, 'expires');
          let expiresSec = e !== undefined ? parseDeltaSeconds(e) : defaultExpires;
          if (expiresSec !== 0 && expiresSec < this.options.minExpires) {
            return reply(423, 'Interval Too Brief', [['Min-Expires', String(this.options.minExpires)]]);
          }
          expiresSec = Math.min(expiresSec, this.options.maxExpires);
          const qText = paramValue(c.params, 'q');
          const q = qText === undefined ? 1 : Number(qText);
          if (!Number.isFinite(q) || q < 0 || q > 1 || !/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(qText ?? '1')) {
            return reply(400, 'Bad Request - Invalid q value in Contact');
          }
          const params = c.params.slice();
          removeParam(params, 'expires');
          const contact: NameAddr = { displayName: c.displayName, uri: c.uri, params };
          const bytes = Buffer.byteLength(formatNameAddr(contact));
          if (bytes > this.options.maxContactBytes) {
            return reply(400, `Bad Request - Contact too long (${bytes} bytes, at most ${this.options.maxContactBytes})`);
          }
          contacts.push({ contact, expiresSec, q });
        }
      }
      change = { ...base, contacts };
    }
    let result: BindingUpdateResult;
    try {
      result = await this.deps.location.update(aor, change);
    } catch (err) {
      // nothing was changed (e.g. the overlay Store failed): the phone is told, with when to retry
      if (!(err instanceof LocationUpdateError)) throw err;
      return reply(err.status, reasonPhrase(`${err.reason} - ${err.message}`), err.retryAfterSec === undefined ? [] : [['Retry-After', String(err.retryAfterSec)]]);
    }
    if (!result.ok) {
      if (result.reason === 'out-of-order') return reply(500, 'Server Internal Error - Out of order REGISTER (Call-ID/CSeq)', [['Retry-After', '1']]);
      if (result.reason === 'aor-too-large') return reply(403, `Forbidden - Bindings of this AoR over ${result.limit} bytes`);
      return reply(403, 'Forbidden - Too many bindings');
    }
    if (tx.inbound.flowId !== undefined) {
      const longest = Math.max(0, ...result.bindings.filter((b) => b.flowId === tx.inbound.flowId).map((b) => b.expiresAt - this.deps.clock.now()));
      if (longest > 0) this.deps.holdFlow?.(tx.inbound.flowId, longest);
    }
    this.deps.onRegistered?.(aor, result.bindings);
    return this.ok(req, aor, result.bindings, reply);
  }

  private ok(
    _req: SipRequest,
    _aor: string,
    bindings: readonly Binding[],
    reply: (status: number, reason?: string, headers?: Array<[string, string]>) => SipResponse,
  ): SipResponse {
    const now = this.deps.clock.now();
    const headers: Array<[string, string]> = bindings.map((b) => {
      const params = b.contact.params.slice();
      setParam(params, 'expires', String(Math.max(0, Math.round((b.expiresAt - now) / 1000))));
      return ['Contact', formatNameAddr({ displayName: b.contact.displayName, uri: b.contact.uri, params })];
    });
    return reply(200, 'OK', headers);
  }
}

/** Longest reason phrase we make from an error's text. */
const MAX_REASON_CHARS = 200;

/** An error's text as a reason phrase (RFC 3261 §25.1): no control characters (CR LF!), bounded. */
function reasonPhrase(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return clean.length > MAX_REASON_CHARS ? `${clean.slice(0, MAX_REASON_CHARS - 3)}...` : clean;
}
