/**
 * RFC 6940 §9 TurnServer, the value stored under the TURN-SERVICE Kind (Kind-ID 2, single value,
 * NODE-MULTIPLE):
 *
 *     struct {
 *       uint8                   iteration;
 *       IpAddressPort           server_address;
 *     } TurnServer;
 *
 * Written in the style of src/reload/codec (bounds-checked Reader/Writer; decoding never throws, a
 * malformed value is a CodecError result). It lives with its usage rather than in reload/codec so the
 * codec barrel stays untouched; `sip-registration.ts` is the precedent for moving it there.
 */
import { decodeBody, encodeBody, readIpAddressPort, writeIpAddressPort } from '../../reload/codec/index.js';
import type { CodecOptions, DecodeResult, IpAddressPort, Reader, Writer } from '../../reload/codec/index.js';

/** The TURN-SERVICE Kind-ID (RFC 6940 §14.6). */
export const TURN_SERVICE_KIND_ID = 2;

/** RFC 6940 §9 TurnServer. `serverAddress` may be of an unknown AddressType (IpAddressPort is extensible). */
export interface TurnServer {
  /** The d value, 1..turn-density (one octet). */
  iteration: number;
  serverAddress: IpAddressPort;
}

export function readTurnServer(r: Reader): TurnServer {
  const iteration = r.u8('iteration');
  const serverAddress = r.scoped('server_address', () => readIpAddressPort(r));
  return { iteration, serverAddress };
}

export function writeTurnServer(w: Writer, v: TurnServer): void {
  if (typeof v !== 'object' || v === null) w.fail('', 'not a TurnServer');
  if (!Number.isInteger(v.iteration) || v.iteration < 0 || v.iteration > 0xff) w.fail('iteration', `must be 0..255, got ${String(v.iteration)}`);
  w.u8(v.iteration, 'iteration');
  w.scoped('server_address', () => writeIpAddressPort(w, v.serverAddress));
}

/** Encodes a TurnServer (the DataValue.value of a TURN-SERVICE entry); throws CodecError ('RELOAD_ENCODE'). */
export function encodeTurnServer(v: TurnServer, options: CodecOptions = {}): Uint8Array {
  return encodeBody('TurnServer', v, options, writeTurnServer);
}

/** Decodes a TurnServer filling `bytes`; never throws. */
export function decodeTurnServer(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<TurnServer> {
  return decodeBody('TurnServer', bytes, options, readTurnServer);
}
