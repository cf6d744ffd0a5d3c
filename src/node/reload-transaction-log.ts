/**
 * Log lines about RELOAD transactions (issue 17), each carrying `tid`, the transaction id in hex
 * (RFC 6940 §6.3.2), so one request can be followed from the peer that sent it to the peer that
 * answered it: at the sender, the request's end (answered, with hops and ms, or failed with its
 * error); at the answering peer, the request served. Successes and served requests are logged at
 * debug; a failed Store, Fetch, Stat, Find or AppAttach at info (the overlay's own maintenance
 * requests fail in normal churn: debug).
 */
import { MessageCode } from '../reload/codec/index.js';
import type { EventSource } from '../lib/event-hub.js';
import type { OverlayEventMap } from '../reload/overlay/overlay-types.js';
import { reloadMethodLabel } from './metrics/metric-labels.js';

export interface ReloadLogLogger {
  info(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
  isLevelEnabled?(level: string): boolean;
}

/** Requests whose failure the application sees (logged at info). */
const APPLICATION_CODES: ReadonlySet<number> = new Set([MessageCode.store_req, MessageCode.fetch_req, MessageCode.stat_req, MessageCode.find_req, MessageCode.app_attach_req]);

/** Subscribes the log to the overlay's `answer` and `served` events; returns the unsubscribe function. */
export function logReloadTransactions(events: EventSource<OverlayEventMap>, logger: ReloadLogLogger): () => void {
  const debug = logger.debug !== undefined && logger.isLevelEnabled?.('debug') === true ? logger.debug.bind(logger) : undefined;
  const offs: Array<() => void> = [];
  offs.push(
    events.on('answer', (e) => {
      const method = reloadMethodLabel(e.code);
      if (e.ok) {
        debug?.({ tid: e.tid, method, target: e.target, hops: e.hops, ms: e.ms }, `reload: ${method} answered`);
        return;
      }
      const fields = { tid: e.tid, method, target: e.target, ms: e.ms, errorCode: e.errorCode ?? 0, reason: e.info ?? '' };
      if (APPLICATION_CODES.has(e.code)) logger.info(fields, `reload: ${method} failed`);
      else debug?.(fields, `reload: ${method} failed`);
    }),
  );
  if (debug !== undefined) {
    offs.push(
      events.on('served', (e) => {
        const method = reloadMethodLabel(e.code);
        debug({ tid: e.tid, method, origin: e.origin, ...(e.errorCode === undefined ? {} : { errorCode: e.errorCode }) }, `reload: ${method} served`);
      }),
    );
  }
  return () => {
    for (const off of offs.splice(0)) off();
  };
}
