/**
 * The SIP transaction layer (RFC 3261 §17, RFC 6026): matches inbound messages to transactions,
 * creates server transactions for new requests and client transactions for the TU's requests,
 * and keeps memory bounded (terminated transactions are forgotten at once; a hard cap).
 */
import type { Clock } from '../../lib/clock.js';
import { SipParseError, callId, cseqOf, detachString, formatUri, fromTag, paramValue, toTag, topVia, uriEquals } from '../message/index.js';
import type { SipMessage, SipRequest, SipResponse } from '../message/sip-message.js';
import type { InboundMessage, OutboundTarget, SipTransport } from '../transport/sip-transport.js';
import { ClientInviteTransaction } from './client-invite-transaction.js';
import { ClientNonInviteTransaction } from './client-non-invite-transaction.js';
import { LingerQueue } from './linger-queue.js';
import { overloadResponse } from './overload-response.js';
import { responseTarget } from './response-target.js';
import { ServerInviteTransaction } from './server-invite-transaction.js';
import { ServerNonInviteTransaction } from './server-non-invite-transaction.js';
import type { TransactionContext } from './transaction-context.js';
import { TransactionError } from './transaction-error.js';
import { clientKey, compliantBranch, fallbackBucket, fallbackMatches, responseClientKey, serverBranchKey } from './transaction-keys.js';
import { DEFAULT_TIMERS } from './transaction-contract.js';
import type { ClientTransaction, ClientTransactionUser, ServerTransaction, TransactionTimers, TransactionUser } from './transaction-contract.js';

export interface TransactionLayerDeps {
  clock: Clock;
  transport: SipTransport;
  user: TransactionUser;
  /**
   * Receives exceptions thrown by transaction-user callbacks and internal faults (they never
   * break the layer); malformed network input is dropped without a report. Default: ignored.
   */
  onError?: ((error: unknown) => void) | undefined;
  /**
   * Admission control, asked for each new request (not an ACK, not a retransmission) before a
   * transaction is made for it: false → a stateless 503 with Retry-After: 1 (RFC 3261 §21.5.4), a
   * refusal → the 503 with its Retry-After and reason phrase; nothing is kept. Default: every
   * request is admitted.
   */
  admit?: ((request: SipRequest) => boolean | { retryAfterS: number; reason?: string }) | undefined;
}

export interface TransactionLayerOptions {
  /** T1/T2/T4 (defaults {@link DEFAULT_TIMERS}: 500/4000/5000 ms). */
  timers?: Partial<TransactionTimers>;
  /**
   * Most live transactions, server and client together (default 100_000). Past it a new request
   * (not ACK) is answered statelessly with 503 and a new client transaction fails at once through
   * `onTransportError` (error code SIP_TX_LIMIT).
   */
  maxTransactions?: number;
}

export const DEFAULT_MAX_TRANSACTIONS = 100_000;

/**
 * Most RFC 2543 (no magic cookie) server transactions sharing one Call-ID, CSeq number, From tag
 * and top Via: matching scans such a group, so it is kept short; past it requests get 503.
 */
export const MAX_RFC2543_GROUP = 16;

export interface TransactionLayerStats {
  serverTransactions: number;
  clientTransactions: number;
  /** Retransmitted requests/responses (and repeated ACKs) absorbed by a transaction, cumulative. */
  absorbedRetransmissions: number;
  /** Responses that matched no client transaction, cumulative. */
  strayResponses: number;
  /** New requests refused by admission control (stateless 503), cumulative. */
  shedRequests: number;
  /** New requests handed to the user without a server transaction (§8.2.7), cumulative. */
  statelessRequests: number;
}

type ServerTx = ServerInviteTransaction | ServerNonInviteTransaction;
type ClientTx = ClientInviteTransaction | ClientNonInviteTransaction;

function checkTimers(t: TransactionTimers): TransactionTimers {
  for (const [name, v] of Object.entries(t)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new TransactionError('SIP_TX_BAD_OPTIONS', `timer ${name} must be a positive number of milliseconds`);
    }
  }
  return t;
}

export class TransactionLayer {
  private readonly deps: TransactionLayerDeps;
  private readonly timers: Readonly<TransactionTimers>;
  private readonly maxTransactions: number;
  private readonly ctx: TransactionContext;
  /** Client transactions by branch + method (§17.1.3). */
  private readonly clients = new Map<string, ClientTx>();
  /** Server transactions of RFC 3261 clients by branch + sent-by + method (§17.2.3). */
  private readonly servers = new Map<string, ServerTx>();
  /** Server transactions of RFC 2543 clients, by Call-ID/CSeq number/From tag/top Via (§17.2.3). */
  private readonly fallback = new Map<string, ServerTx[]>();
  private readonly fallbackKeyOf = new Map<ServerTx, string>();
  private absorbedCount = 0;
  private strayCount = 0;
  private shedCount = 0;
  private statelessCount = 0;
  private closed = false;

  constructor(deps: TransactionLayerDeps, options: TransactionLayerOptions = {}) {
    this.deps = deps;
    this.timers = Object.freeze(checkTimers({ ...DEFAULT_TIMERS, ...options.timers }));
    const max = options.maxTransactions ?? DEFAULT_MAX_TRANSACTIONS;
    if (!Number.isInteger(max) || max < 0) throw new TransactionError('SIP_TX_BAD_OPTIONS', 'maxTransactions must be an integer >= 0');
    this.maxTransactions = max;
    this.ctx = {
      clock: deps.clock,
      transport: deps.transport,
      timers: this.timers,
      linger: new LingerQueue(deps.clock),
      released: (tx) => this.release(tx as ServerTx | ClientTx),
      absorbed: () => {
        this.absorbedCount++;
      },
      passAck: (inbound) => this.callUser(() => this.deps.user.onAck(inbound)),
      callUser: (fn) => this.callUser(fn),
    };
  }

  /** Called by the transport layer for every inbound message. Never throws. */
  receive(inbound: InboundMessage): void {
    if (this.closed) return;
    try {
      if (inbound.message.kind === 'response') this.receiveResponse(inbound, inbound.message);
      else this.receiveRequest(inbound, inbound.message);
    } catch (error) {
      // A message without a usable Via/CSeq/Call-ID/From is dropped (the parser normally rejects it first).
      if (!(error instanceof SipParseError)) this.report(error);
    }
  }

  /**
   * Starts a client transaction. The request must already carry its top Via with a z9hG4bK
   * branch (the caller adds it). Throws `SIP_TX_BAD_REQUEST` (ACK, no compliant branch, no
   * CSeq/Call-ID) or `SIP_TX_DUPLICATE` (branch + method of a live transaction): both are bugs of
   * the caller. When `maxTransactions` is reached, `user.onTransportError` is called before this
   * returns and the transaction is already terminated. After close() the transaction is returned
   * terminated and nothing is sent.
   */
  sendRequest(request: SipRequest, target: OutboundTarget, user: ClientTransactionUser): ClientTransaction {
    const key = this.validateOutbound(request);
    const tx =
      request.method === 'INVITE'
        ? new ClientInviteTransaction(this.ctx, key, request, target, user)
        : new ClientNonInviteTransaction(this.ctx, key, request, target, user);
    if (this.closed) {
      tx.terminate();
      return tx;
    }
    if (this.clients.has(key)) throw new TransactionError('SIP_TX_DUPLICATE', `a client transaction ${key} is already running`);
    if (this.size() >= this.maxTransactions) {
      tx.transportError(new TransactionError('SIP_TX_LIMIT', `transaction limit (${this.maxTransactions}) reached`));
      return tx;
    }
    this.clients.set(key, tx); // registered before the first send: the transport may report an error synchronously
    tx.start();
    return tx;
  }

  /**
   * RFC 3261 §9.2: the INVITE server transaction a CANCEL refers to (matched by §17.2.3 as if it
   * were an INVITE; same Request-URI, Call-ID, From tag and CSeq number), or undefined.
   */
  findCancelTarget(cancel: SipRequest): ServerTransaction | undefined {
    if (this.closed) return undefined;
    try {
      const tx = this.findServer(cancel, 'INVITE');
      if (tx === undefined || !tx.isInvite || tx.state === 'terminated') return undefined;
      const invite = tx.request;
      if (!uriEquals(invite.uri, cancel.uri) || callId(invite) !== callId(cancel)) return undefined;
      if (fromTag(invite) !== fromTag(cancel) || cseqOf(invite).seq !== cseqOf(cancel).seq) return undefined;
      return tx;
    } catch {
      return undefined;
    }
  }

  /** The transport layer reports a failed send (§17.1.4): the client transaction tells its user, a server transaction gives up. */
  onSendError(_target: OutboundTarget, message: SipMessage, error: Error): void {
    if (this.closed) return;
    try {
      if (message.kind === 'request') {
        const branch = paramValue(topVia(message).params, 'branch');
        if (branch === undefined) return;
        // A failed ACK belongs to the INVITE client transaction that generated it (§17.1.1.3).
        const method = message.method === 'ACK' ? 'INVITE' : message.method;
        this.clients.get(clientKey(branch, method))?.transportError(error);
      } else {
        this.findServerOfResponse(message)?.transportError();
      }
    } catch {
      // not ours
    }
  }

  stats(): TransactionLayerStats {
    return {
      serverTransactions: this.servers.size + this.fallbackKeyOf.size,
      clientTransactions: this.clients.size,
      absorbedRetransmissions: this.absorbedCount,
      strayResponses: this.strayCount,
      shedRequests: this.shedCount,
      statelessRequests: this.statelessCount,
    };
  }

  /** Cancels every timer and forgets every transaction, silently; afterwards receive/sendRequest do nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const all: (ServerTx | ClientTx)[] = [...this.clients.values(), ...this.servers.values(), ...this.fallbackKeyOf.keys()];
    for (const tx of all) tx.terminate();
    this.ctx.linger.clear();
    this.clients.clear();
    this.servers.clear();
    this.fallback.clear();
    this.fallbackKeyOf.clear();
  }

  private size(): number {
    return this.clients.size + this.servers.size + this.fallbackKeyOf.size;
  }

  private callUser(fn: () => void): void {
    if (this.closed) return;
    try {
      fn();
    } catch (error) {
      this.report(error);
    }
  }

  private report(error: unknown): void {
    try {
      this.deps.onError?.(error);
    } catch {
      // the error hook itself failed: nothing more to do
    }
  }

  /** §17.1.3: a response goes to its client transaction, else to the TU as stray. */
  private receiveResponse(inbound: InboundMessage, response: SipResponse): void {
    const key = responseClientKey(response);
    const tx = key === undefined ? undefined : this.clients.get(key);
    if (tx !== undefined) {
      tx.receiveResponse(response);
      return;
    }
    this.strayCount++;
    this.callUser(() => this.deps.user.onStrayResponse(inbound));
  }

  /** §17.2.3: a request is a retransmission/ACK of a server transaction, an unmatched ACK, or a new transaction. */
  private receiveRequest(inbound: InboundMessage, request: SipRequest): void {
    const method = request.method;
    const match = this.findServer(request, method);
    if (match !== undefined) {
      if (method !== 'ACK') match.receiveRetransmission();
      else if (match instanceof ServerInviteTransaction) match.receiveAck(inbound);
      return;
    }
    if (method === 'ACK') {
      this.callUser(() => this.deps.user.onAck(inbound));
      return;
    }
    const branchKey = serverBranchKey(request, method);
    const bucket = branchKey === undefined ? fallbackBucket(request) : undefined;
    const groupFull = bucket !== undefined && (this.fallback.get(bucket)?.length ?? 0) >= MAX_RFC2543_GROUP;
    if (this.size() >= this.maxTransactions || groupFull) {
      this.deps.transport.send(overloadResponse(request), responseTarget(inbound));
      return;
    }
    const verdict = this.deps.admit === undefined ? true : this.deps.admit(request);
    if (verdict !== true) {
      this.shedCount++;
      const refusal = verdict === false ? { retryAfterS: 1 } : verdict;
      this.deps.transport.send(overloadResponse(request, refusal.retryAfterS, refusal.reason), responseTarget(inbound));
      return;
    }
    const user = this.deps.user;
    if (user.onStatelessRequest !== undefined && user.answersStatelessly?.(request) === true) {
      this.statelessCount++;
      this.callUser(() => user.onStatelessRequest?.(inbound));
      return;
    }
    const tx = this.createServer(inbound, request, branchKey, bucket);
    this.callUser(() => this.deps.user.onRequest(tx));
  }

  private createServer(inbound: InboundMessage, request: SipRequest, branchKey: string | undefined, bucket: string | undefined): ServerTx {
    // a key of our own: one built from the request's fields keeps the whole received text alive (issue 18)
    const id = detachString(branchKey ?? `rfc2543|${bucket ?? ''}|${request.method}|${formatUri(request.uri)}|${toTag(request) ?? ''}`);
    const target = responseTarget(inbound);
    const tx =
      request.method === 'INVITE'
        ? new ServerInviteTransaction(this.ctx, id, request, inbound, target)
        : new ServerNonInviteTransaction(this.ctx, id, request, inbound, target);
    if (branchKey !== undefined) {
      this.servers.set(id, tx);
    } else if (bucket !== undefined) {
      const list = this.fallback.get(bucket);
      if (list === undefined) this.fallback.set(bucket, [tx]);
      else list.push(tx);
      this.fallbackKeyOf.set(tx, bucket);
    }
    return tx;
  }

  /** §17.2.3: the server transaction `request` belongs to, matched as `method` (ACK → its INVITE). */
  private findServer(request: SipRequest, method: string): ServerTx | undefined {
    const branchKey = serverBranchKey(request, method);
    if (branchKey !== undefined) return this.servers.get(branchKey);
    const list = this.fallback.get(fallbackBucket(request));
    if (list === undefined) return undefined;
    for (const tx of list) {
      const final = tx.finalResponse;
      // An RFC 2543 ACK matches on the To tag of the final response the transaction sent.
      if (method === 'ACK' && final === undefined) continue;
      const sentToTag = final === undefined ? undefined : toTag(final);
      if (fallbackMatches(tx.request, sentToTag, request, method)) return tx;
    }
    return undefined;
  }

  /** The server transaction that sent `response` (for a send error). */
  private findServerOfResponse(response: SipResponse): ServerTx | undefined {
    const method = cseqOf(response).method;
    const branchKey = serverBranchKey(response, method);
    if (branchKey !== undefined) return this.servers.get(branchKey);
    const list = this.fallback.get(fallbackBucket(response));
    if (list === undefined) return undefined;
    return list.find((tx) => tx.lastResponse === response) ?? list.find((tx) => tx.request.method === method);
  }

  /** Checks what a client transaction needs and returns its key (§17.1.3: branch + method). */
  private validateOutbound(request: SipRequest): string {
    if (request.method === 'ACK') throw new TransactionError('SIP_TX_BAD_REQUEST', 'ACK is sent without a transaction (§17.1.1.3, §13.2.2.4)');
    let branch: string | undefined;
    let cseqMethod: string;
    try {
      branch = compliantBranch(topVia(request));
      cseqMethod = cseqOf(request).method;
      callId(request);
    } catch (cause) {
      throw new TransactionError('SIP_TX_BAD_REQUEST', 'request lacks a valid Via, CSeq or Call-ID', { cause });
    }
    if (branch === undefined) throw new TransactionError('SIP_TX_BAD_REQUEST', 'top Via lacks a z9hG4bK branch');
    if (cseqMethod !== request.method) throw new TransactionError('SIP_TX_BAD_REQUEST', 'CSeq method differs from the request method');
    return detachString(clientKey(branch, request.method));
  }

  private release(tx: ServerTx | ClientTx): void {
    if (tx instanceof ClientInviteTransaction || tx instanceof ClientNonInviteTransaction) {
      if (this.clients.get(tx.id) === tx) this.clients.delete(tx.id);
      return;
    }
    const bucket = this.fallbackKeyOf.get(tx);
    if (bucket === undefined) {
      if (this.servers.get(tx.id) === tx) this.servers.delete(tx.id);
      return;
    }
    this.fallbackKeyOf.delete(tx);
    const list = this.fallback.get(bucket);
    if (list === undefined) return;
    const rest = list.filter((t) => t !== tx);
    if (rest.length === 0) this.fallback.delete(bucket);
    else this.fallback.set(bucket, rest);
  }
}
