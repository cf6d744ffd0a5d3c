/**
 * DTLS 1.2 record layer pieces the DTLS channel needs around werift-dtls (RFC 6347 §4.1): splitting a
 * datagram into records, building alert records, the anti-replay window (§4.1.2.6), and the RFC 7983
 * demultiplexing test for a port shared with STUN and TURN.
 */

/** RFC 6347 §4.1 record content types. */
export const ContentType = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 } as const;

/** Bytes of a DTLS record header: type, version, epoch, 48-bit sequence number, length. */
export const RECORD_HEADER_LENGTH = 13;
/** DTLS 1.2 on the wire (RFC 6347 §4.1: {254, 253}). */
export const DTLS12_VERSION = 0xfefd;
/** AES-128-GCM record expansion (RFC 5288): 8-byte explicit nonce + 16-byte tag. */
export const GCM_EXPANSION = 24;

export interface DtlsRecord {
  type: number;
  version: number;
  epoch: number;
  /** 48-bit record sequence number (exact in a double). */
  sequence: number;
  /** Header and fragment. */
  bytes: Uint8Array;
  fragment: Uint8Array;
}

/**
 * RFC 7983 §7: a datagram whose first byte is 20..63 is DTLS (0..3 STUN, 64..79 TURN channel data,
 * 128..191 RTP/RTCP). For the owner of a shared UDP port.
 */
export function isDtlsDatagram(datagram: Uint8Array): boolean {
  const b = datagram[0];
  return b !== undefined && b >= 20 && b <= 63;
}

/** The records of one datagram; undefined when it is not a well-formed sequence of DTLS records. */
export function splitRecords(datagram: Uint8Array): DtlsRecord[] | undefined {
  const out: DtlsRecord[] = [];
  let at = 0;
  while (at < datagram.length) {
    if (datagram.length - at < RECORD_HEADER_LENGTH) return undefined;
    const type = datagram[at]!;
    const version = (datagram[at + 1]! << 8) | datagram[at + 2]!;
    if (type < ContentType.changeCipherSpec || type > ContentType.applicationData || datagram[at + 1] !== 0xfe) return undefined;
    const epoch = (datagram[at + 3]! << 8) | datagram[at + 4]!;
    let sequence = 0;
    for (let i = 5; i < 11; i++) sequence = sequence * 256 + datagram[at + i]!;
    const length = (datagram[at + 11]! << 8) | datagram[at + 12]!;
    const end = at + RECORD_HEADER_LENGTH + length;
    if (end > datagram.length) return undefined;
    out.push({ type, version, epoch, sequence, bytes: datagram.subarray(at, end), fragment: datagram.subarray(at + RECORD_HEADER_LENGTH, end) });
    at = end;
  }
  return out;
}

/** One record: header + fragment. */
export function buildRecord(type: number, epoch: number, sequence: number, fragment: Uint8Array, version = DTLS12_VERSION): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_LENGTH + fragment.length);
  out[0] = type;
  out[1] = version >> 8;
  out[2] = version & 0xff;
  out[3] = epoch >> 8;
  out[4] = epoch & 0xff;
  let s = sequence;
  for (let i = 10; i >= 5; i--) {
    out[i] = s % 256;
    s = Math.floor(s / 256);
  }
  out[11] = fragment.length >> 8;
  out[12] = fragment.length & 0xff;
  out.set(fragment, RECORD_HEADER_LENGTH);
  return out;
}

/** RFC 5246 §7.2 alert levels and the descriptions we send or name. */
export const AlertLevel = { warning: 1, fatal: 2 } as const;
export const AlertDescription = {
  close_notify: 0,
  unexpected_message: 10,
  bad_record_mac: 20,
  handshake_failure: 40,
  bad_certificate: 42,
  certificate_unknown: 46,
  decrypt_error: 51,
  internal_error: 80,
  user_canceled: 90,
} as const;

export function alertName(description: number): string {
  for (const [k, v] of Object.entries(AlertDescription)) if (v === description) return k;
  return `alert ${description}`;
}

/**
 * RFC 6347 §4.1.2.6 anti-replay window (64 records) for one epoch: `check` before the record is
 * authenticated, `mark` once it was (so forged records cannot move the window).
 */
export class ReplayWindow {
  private highest = -1;
  private bits = 0n;

  /** False for a sequence number already received or older than the window. */
  check(sequence: number): boolean {
    if (sequence > this.highest) return true;
    const back = this.highest - sequence;
    if (back >= 64) return false;
    return ((this.bits >> BigInt(back)) & 1n) === 0n;
  }

  mark(sequence: number): void {
    if (sequence > this.highest) {
      const shift = this.highest < 0 ? 64 : sequence - this.highest;
      this.bits = shift >= 64 ? 1n : ((this.bits << BigInt(shift)) | 1n) & 0xffffffffffffffffn;
      this.highest = sequence;
      return;
    }
    const back = this.highest - sequence;
    if (back < 64) this.bits |= 1n << BigInt(back);
  }
}
