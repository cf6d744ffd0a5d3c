/**
 * A Store (or withdraw) of a SIP registration that the overlay did not take, classed by what the
 * SIP usage does about it (issue 14): `unavailable` — no answer, a timeout, the overlay busy or
 * changing (retried, a phone is told 503 with Retry-After); `full` — the responsible peer's storage
 * limit (Error_Data_Too_Large: a phone is told 500; retried in the background, for restored
 * registrations); `refused` — anything else the overlay answered (Error_Forbidden,
 * Error_Invalid_Message…): never retried, a phone is told 500.
 */
import { ReloadErrorCode, reloadErrorName } from '../../reload/codec/index.js';
import { SipUsageError } from './sip-usage-error.js';

export type StoreFailure = 'unavailable' | 'full' | 'refused';

export class RegistrationStoreError extends SipUsageError {
  constructor(
    readonly failure: StoreFailure,
    message: string,
    /** The RELOAD error code (0: no answer at all). */
    readonly errorCode: number,
    /** What the overlay said (`Error_Data_Too_Large: storage full…`), for reason phrases. */
    readonly detail: string = message,
  ) {
    super(`store-${failure}`, message);
    this.name = 'RegistrationStoreError';
  }
}

/** RELOAD errors that say "try again": nobody answered, or the overlay is in the middle of a change. */
const TRANSIENT: ReadonlySet<number> = new Set([0, ReloadErrorCode.RequestTimeout, ReloadErrorCode.InProgress, ReloadErrorCode.NotFound, ReloadErrorCode.TtlExceeded]);

/** The class of a failed Store's RELOAD error code (RFC 6940 §6.3.3.1). */
export function storeFailureOf(errorCode: number): StoreFailure {
  if (TRANSIENT.has(errorCode)) return 'unavailable';
  if (errorCode === ReloadErrorCode.DataTooLarge) return 'full';
  return 'refused';
}

/** `Error_Data_Too_Large: <info>` (or `no answer: <info>`), for logs and reason phrases. */
export function storeFailureText(errorCode: number, info: string): string {
  return `${errorCode === 0 ? 'no answer' : reloadErrorName(errorCode)}: ${info}`;
}
