/**
 * What a phone is told when its REGISTER's overlay Store failed or took too long (issue 14: never
 * 200; nothing was changed). The one place the SIP usage maps Store failures to SIP answers:
 * `unavailable` → 503 with Retry-After, `full` and `refused` → 500, an AoR that may not be stored → 400.
 */
import { LocationUpdateError } from '../../sip/core/location-service.js';
import { publishFailureOf } from './registration-publisher.js';
import { RegistrationStoreError } from './registration-store-error.js';

export function registerStoreAnswer(err: unknown, retryAfterSec: number): LocationUpdateError {
  const failure = publishFailureOf(err);
  const detail = err instanceof RegistrationStoreError ? err.detail : err instanceof Error ? err.message : String(err);
  if (failure === 'invalid') return new LocationUpdateError('bad-aor', detail, 400, 'Bad Request');
  if (failure === 'unavailable') return new LocationUpdateError('overlay-unavailable', `overlay store failed: ${detail}`, 503, 'Service Unavailable', retryAfterSec);
  return new LocationUpdateError(failure === 'full' ? 'overlay-full' : 'overlay-refused', `overlay store failed: ${detail}`, 500, 'Server Internal Error');
}

/** The Store did not finish within the REGISTER's wait (`waitMs`). */
export function registerTooSlow(waitMs: number, retryAfterSec: number): LocationUpdateError {
  return new LocationUpdateError('overlay-timeout', `overlay store did not finish within ${waitMs} ms`, 503, 'Service Unavailable', retryAfterSec);
}
