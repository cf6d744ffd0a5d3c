import { ReloadErrorCode, Writer, encodeStoreAns } from '../codec/index.js';
import type { StoreAns } from '../codec/index.js';

/**
 * A refused request: the RELOAD error code, a human text, and the ErrorResponse error_info to send
 * (RFC 6940 §6.3.3.1): for Error_Unknown_Kind the `KindId unknown_kinds<0..2^8-1>` list, for
 * Error_Generation_Counter_Too_Low a StoreAns with the current counters (§7.4.1.2), else the text.
 */
export interface StorageFailure {
  ok: false;
  code: ReloadErrorCode;
  info: string;
  errorInfo: Uint8Array;
  /** Error_Generation_Counter_Too_Low only: the current counter of each Kind of the request. */
  generations?: StoreAns;
}

const utf8 = new TextEncoder();

export function failure(code: ReloadErrorCode, info: string): StorageFailure {
  return { ok: false, code, info, errorInfo: utf8.encode(info) };
}

/** Most Kind-IDs an unknown_kinds<0..2^8-1> list holds. */
export const MAX_UNKNOWN_KINDS = 63;

/** RFC 6940 §7.4.1.2 Error_Unknown_Kind with `KindId unknown_kinds<0..2^8-1>` as error_info. */
export function unknownKindFailure(kinds: readonly number[]): StorageFailure {
  const listed = kinds.slice(0, MAX_UNKNOWN_KINDS);
  const w = new Writer('unknown_kinds');
  w.u8(listed.length * 4, 'length');
  for (const k of listed) w.u32(k >>> 0, 'kind');
  const info = `unknown Kind-ID${listed.length > 1 ? 's' : ''} ${listed.map((k) => `0x${k.toString(16)}`).join(', ')}`;
  return { ok: false, code: ReloadErrorCode.UnknownKind, info, errorInfo: w.finish() };
}

/** RFC 6940 §7.4.1.2 Error_Generation_Counter_Too_Low: error_info is a StoreAns with empty replica lists. */
export function generationFailure(info: string, generations: StoreAns): StorageFailure {
  return { ok: false, code: ReloadErrorCode.GenerationCounterTooLow, info, errorInfo: encodeStoreAns(generations), generations };
}
