import type { DecodeResult } from './codec-error.js';
import type { CodecOptions } from './codec-options.js';
import { checkObject, decodeBody, encodeBody, writeList } from './method-body.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** RFC 6940 §6.5.4.1 ConfigUpdateType codes (0 is invalid). */
export const ConfigUpdateType = { config: 1, kind: 2 } as const;

/**
 * RFC 6940 §6.5.4.1 ConfigUpdateReq: a whole configuration document (`config_data<0..2^24-1>`) or
 * a list of kind-block XML productions (`KindDescription kinds<0..2^24-1>`, each `<0..2^16-1>`).
 * `unknown` keeps another type with its `length` bytes (the structure is extensible).
 */
export type ConfigUpdateReq =
  | { type: 'config'; configData: Uint8Array }
  | { type: 'kind'; kinds: Uint8Array[] }
  | { type: 'unknown'; code: number; data: Uint8Array };

export function readConfigUpdateReq(r: Reader): ConfigUpdateReq {
  const at = r.offset;
  const code = r.u8('type');
  if (code === 0) r.fail('type', 'invalidConfigUpdateType (0)', at);
  const lengthAt = r.offset;
  // RFC 6940 §6.5.4.1: length is the remainder of the message
  const v = r.take(r.u32('length'), 'value', 'length', lengthAt);
  let req: ConfigUpdateReq;
  switch (code) {
    case ConfigUpdateType.config:
      req = { type: 'config', configData: v.opaque(3, 'config_data') };
      break;
    case ConfigUpdateType.kind:
      req = { type: 'kind', kinds: v.sub(3, 'kinds').items((k) => k.opaque(2, '')) };
      break;
    default:
      req = { type: 'unknown', code, data: v.bytes(v.remaining, 'data') };
  }
  v.expectEnd();
  return req;
}

export function writeConfigUpdateReq(w: Writer, v: ConfigUpdateReq): void {
  checkObject(w, v, 'ConfigUpdateReq');
  switch (v.type) {
    case 'config':
      w.u8(ConfigUpdateType.config, 'type');
      w.prefixed(4, 'length', () => w.opaque(3, v.configData, 'config_data'));
      return;
    case 'kind':
      w.u8(ConfigUpdateType.kind, 'type');
      w.prefixed(4, 'length', () => writeList(w, v.kinds, 3, 'kinds', (k) => w.opaque(2, k, '')));
      return;
    case 'unknown':
      if (!Number.isInteger(v.code) || v.code < 3 || v.code > 255) w.fail('type', `unknown ConfigUpdateType ${String(v.code)} must be 3..255`);
      w.u8(v.code, 'type');
      w.opaque(4, v.data, 'length');
      return;
    default:
      w.fail('type', 'not a ConfigUpdateReq');
  }
}

export function encodeConfigUpdateReq(v: ConfigUpdateReq, options: CodecOptions = {}): Uint8Array {
  return encodeBody('ConfigUpdateReq', v, options, writeConfigUpdateReq);
}

export function decodeConfigUpdateReq(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<ConfigUpdateReq> {
  return decodeBody('ConfigUpdateReq', bytes, options, readConfigUpdateReq);
}
