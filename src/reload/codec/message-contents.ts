import type { CodecOptions } from './codec-options.js';
import { MessageCode } from './message-code.js';
import { DEFAULT_MAX_MESSAGE_SIZE, Reader } from './reader.js';
import { Writer } from './writer.js';

/** RFC 6940 §6.3.3 MessageExtension: type (1..65535; 0 is invalid), critical flag, contents. */
export interface MessageExtension {
  type: number;
  critical: boolean;
  contents: Uint8Array;
}

/** RFC 6940 §6.3.3 MessageContents: the part a forwarding peer treats as opaque. */
export interface MessageContents {
  messageCode: number;
  body: Uint8Array;
  extensions: MessageExtension[];
}

/** RFC 6940 §6.3.3.1 / §14.9 error codes. */
export const ReloadErrorCode = {
  Forbidden: 0x2,
  NotFound: 0x3,
  RequestTimeout: 0x4,
  GenerationCounterTooLow: 0x5,
  IncompatibleWithOverlay: 0x6,
  UnsupportedForwardingOption: 0x7,
  DataTooLarge: 0x8,
  DataTooOld: 0x9,
  TtlExceeded: 0xa,
  MessageTooLarge: 0xb,
  UnknownKind: 0xc,
  UnknownExtension: 0xd,
  ResponseTooLarge: 0xe,
  ConfigTooOld: 0xf,
  ConfigTooNew: 0x10,
  InProgress: 0x11,
  ExpA: 0x12,
  ExpB: 0x13,
  InvalidMessage: 0x14,
} as const;

export type ReloadErrorCode = (typeof ReloadErrorCode)[keyof typeof ReloadErrorCode];

const ERROR_NAMES: ReadonlyMap<number, string> = new Map([
  [ReloadErrorCode.Forbidden, 'Error_Forbidden'],
  [ReloadErrorCode.NotFound, 'Error_Not_Found'],
  [ReloadErrorCode.RequestTimeout, 'Error_Request_Timeout'],
  [ReloadErrorCode.GenerationCounterTooLow, 'Error_Generation_Counter_Too_Low'],
  [ReloadErrorCode.IncompatibleWithOverlay, 'Error_Incompatible_with_Overlay'],
  [ReloadErrorCode.UnsupportedForwardingOption, 'Error_Unsupported_Forwarding_Option'],
  [ReloadErrorCode.DataTooLarge, 'Error_Data_Too_Large'],
  [ReloadErrorCode.DataTooOld, 'Error_Data_Too_Old'],
  [ReloadErrorCode.TtlExceeded, 'Error_TTL_Exceeded'],
  [ReloadErrorCode.MessageTooLarge, 'Error_Message_Too_Large'],
  [ReloadErrorCode.UnknownKind, 'Error_Unknown_Kind'],
  [ReloadErrorCode.UnknownExtension, 'Error_Unknown_Extension'],
  [ReloadErrorCode.ResponseTooLarge, 'Error_Response_Too_Large'],
  [ReloadErrorCode.ConfigTooOld, 'Error_Config_Too_Old'],
  [ReloadErrorCode.ConfigTooNew, 'Error_Config_Too_New'],
  [ReloadErrorCode.InProgress, 'Error_In_Progress'],
  [ReloadErrorCode.ExpA, 'Error_Exp_A'],
  [ReloadErrorCode.ExpB, 'Error_Exp_B'],
  [ReloadErrorCode.InvalidMessage, 'Error_Invalid_Message'],
]);

/** True for a code registered by RFC 6940 §14.9. */
export function isReloadErrorCode(code: number): code is ReloadErrorCode {
  return ERROR_NAMES.has(code);
}

/** The RFC 6940 §14.9 name of an error code (`Error_Not_Found`), or `Error_0x…` for others. */
export function reloadErrorName(code: number): string {
  return ERROR_NAMES.get(code) ?? `Error_0x${code.toString(16)}`;
}

/**
 * RFC 6940 §6.3.3.1 ErrorResponse, the body of a message with code 0xFFFF. `errorCode` is a
 * {@link ReloadErrorCode} or a code registered later (kept as a number; 0 is invalid).
 */
export interface ErrorResponse {
  errorCode: number;
  errorInfo: Uint8Array;
}

/** Reads a MessageContents at the reader's position (RFC 6940 §6.3.3). */
export function readMessageContents(r: Reader): MessageContents {
  const at = r.offset;
  const messageCode = r.u16('message_code');
  if (messageCode === 0) r.fail('message_code', 'invalidMessageCode (0)', at);
  const body = r.opaque(4, 'message_body');
  const extensions = r.sub(4, 'extensions').items(readMessageExtension);
  return { messageCode, body, extensions };
}

/** Writes a MessageContents (RFC 6940 §6.3.3). */
export function writeMessageContents(w: Writer, c: MessageContents): void {
  if (typeof c !== 'object' || c === null) w.fail('', 'not a MessageContents');
  if (c.messageCode === 0) w.fail('message_code', 'invalidMessageCode (0)');
  w.u16(c.messageCode, 'message_code');
  w.opaque(4, c.body, 'message_body');
  w.prefixed(4, 'extensions', () =>
    w.scoped('extensions', () => {
      if (!Array.isArray(c.extensions)) w.fail('', 'not a list');
      c.extensions.forEach((e, i) => w.scoped(`[${i}]`, () => writeMessageExtension(w, e)));
    }),
  );
}

function readMessageExtension(r: Reader): MessageExtension {
  const at = r.offset;
  const type = r.u16('type');
  if (type === 0) r.fail('type', 'invalidMessageExtensionType (0)', at);
  const critical = r.boolean('critical');
  return { type, critical, contents: r.opaque(4, 'extension_contents') };
}

function writeMessageExtension(w: Writer, e: MessageExtension): void {
  if (typeof e !== 'object' || e === null) w.fail('', 'not a MessageExtension');
  if (e.type === 0) w.fail('type', 'invalidMessageExtensionType (0)');
  w.u16(e.type, 'type');
  w.boolean(e.critical, 'critical');
  w.opaque(4, e.contents, 'extension_contents');
}

/** Encodes a MessageContents on its own (e.g. as signature input, RFC 6940 §6.3.4). */
export function encodeMessageContents(c: MessageContents, options: CodecOptions = {}): Uint8Array {
  const w = new Writer('MessageContents', options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
  writeMessageContents(w, c);
  return w.finish();
}

/** Decodes exactly one MessageContents filling `bytes`; throws {@link CodecError}. */
export function decodeMessageContents(bytes: Uint8Array, options: CodecOptions = {}): MessageContents {
  const r = new Reader(bytes, 'MessageContents', options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
  const c = readMessageContents(r);
  r.expectEnd();
  return c;
}

/** Encodes an ErrorResponse body (RFC 6940 §6.3.3.1). */
export function encodeErrorResponse(e: ErrorResponse): Uint8Array {
  const w = new Writer('ErrorResponse');
  if (typeof e !== 'object' || e === null) w.fail('', 'not an ErrorResponse');
  if (e.errorCode === 0) w.fail('error_code', 'invalidErrorCode (0)');
  w.u16(e.errorCode, 'error_code');
  w.opaque(2, e.errorInfo, 'error_info');
  return w.finish();
}

/** Decodes an ErrorResponse body (RFC 6940 §6.3.3.1); throws {@link CodecError}. */
export function decodeErrorResponse(body: Uint8Array, options: CodecOptions = {}): ErrorResponse {
  const r = new Reader(body, 'ErrorResponse', options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
  const at = r.offset;
  const errorCode = r.u16('error_code');
  if (errorCode === 0) r.fail('error_code', 'invalidErrorCode (0)', at);
  const errorInfo = r.opaque(2, 'error_info');
  r.expectEnd();
  return { errorCode, errorInfo };
}

/** The MessageContents of an error answer: code 0xFFFF and an ErrorResponse body (UTF-8 info text). */
export function errorContents(errorCode: number, info = ''): MessageContents {
  const errorInfo = new TextEncoder().encode(info);
  return { messageCode: MessageCode.error, body: encodeErrorResponse({ errorCode, errorInfo }), extensions: [] };
}

/** error_info as text (RFC 6940 §6.3.3.1: UTF-8 unless specified otherwise; bad sequences become U+FFFD). */
export function errorInfoText(e: ErrorResponse): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(e.errorInfo);
}
