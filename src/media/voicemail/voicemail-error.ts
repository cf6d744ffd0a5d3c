import { P2psipError } from '../../lib/errors.js';

/**
 * Stable codes of the voicemail media core. The SIP side maps them in one place: a bad SDP offer
 * (`VM_SDP_*`) is a 488, a bad stored file (`WAV_*`) means the message is skipped, the others are
 * programming or packet errors that are counted and dropped.
 */
export type VoicemailErrorCode =
  | 'WAV_MALFORMED'
  | 'WAV_UNSUPPORTED'
  | 'WAV_TOO_LARGE'
  | 'WAV_TRUNCATED'
  | 'RTP_MALFORMED'
  | 'RTP_INVALID_FIELD'
  | 'DTMF_MALFORMED'
  | 'VM_SDP_MALFORMED'
  | 'VM_SDP_NO_CODEC'
  | 'VM_INVALID_OPTION'
  | 'VM_ILLEGAL_STATE';

/** An error of the voicemail media core (WAV files, RTP packets, telephone-events, sessions). */
export class VoicemailError extends P2psipError {
  declare readonly code: VoicemailErrorCode;

  constructor(code: VoicemailErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'VoicemailError';
  }
}

/** Throws VM_INVALID_OPTION unless `v` is an integer in [min, max]: every limit is checked once, at construction. */
export function checkIntOption(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new VoicemailError('VM_INVALID_OPTION', `${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}
