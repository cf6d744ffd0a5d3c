import type { DecodeResult } from './codec-error.js';
import type { CodecOptions } from './codec-options.js';
import { readDestination, writeDestination } from './destination.js';
import type { Destination } from './destination.js';
import { decodeBody, encodeBody, nodeIdLengthOf } from './method-body.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** RFC 6940 §6.4.2.4.1 RouteQueryReq (CHORD-RELOAD §10.8 adds no overlay-specific data). */
export interface RouteQueryReq {
  sendUpdate: boolean;
  destination: Destination;
  overlaySpecificData: Uint8Array;
}

export function readRouteQueryReq(r: Reader, options: CodecOptions): RouteQueryReq {
  const len = nodeIdLengthOf(options, (d) => r.fail('', d));
  const sendUpdate = r.boolean('send_update');
  const destination = r.scoped('destination', () => readDestination(r, len));
  return { sendUpdate, destination, overlaySpecificData: r.opaque(2, 'overlay_specific_data') };
}

export function writeRouteQueryReq(w: Writer, v: RouteQueryReq, options: CodecOptions): void {
  const len = nodeIdLengthOf(options, (d) => w.fail('', d));
  w.boolean(v.sendUpdate, 'send_update');
  w.scoped('destination', () => writeDestination(w, v.destination, len));
  w.opaque(2, v.overlaySpecificData, 'overlay_specific_data');
}

export function encodeRouteQueryReq(v: RouteQueryReq, options: CodecOptions = {}): Uint8Array {
  return encodeBody('RouteQueryReq', v, options, (w, x) => writeRouteQueryReq(w, x, options));
}

export function decodeRouteQueryReq(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<RouteQueryReq> {
  return decodeBody('RouteQueryReq', bytes, options, (r) => readRouteQueryReq(r, options));
}
