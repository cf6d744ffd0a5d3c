import { P2psipError } from '../../lib/errors.js';

/** 'RELOAD_DECODE': bytes that do not follow RFC 6940 §6.3; 'RELOAD_ENCODE': a value that cannot be encoded. */
export type CodecErrorCode = 'RELOAD_DECODE' | 'RELOAD_ENCODE';

/**
 * A RELOAD structure that cannot be decoded or encoded. `path` names the field in the
 * presentation language of RFC 6940 §6.3 (e.g. `ForwardingHeader.destination_list[1].length`);
 * `offset` is the byte offset in the decoded input where the problem was found (decode only).
 */
export class CodecError extends P2psipError {
  readonly path: string;
  readonly offset: number | undefined;

  constructor(code: CodecErrorCode, path: string, detail: string, offset?: number, options?: { cause?: unknown }) {
    super(code, `${path}: ${detail}${offset === undefined ? '' : ` (at byte ${offset})`}`, options);
    this.name = 'CodecError';
    this.path = path;
    this.offset = offset;
  }
}

/** Appends a field name or an `[index]` to a path: `a` + `b` = `a.b`, `a` + `[1]` = `a[1]`. */
export function joinPath(path: string, field: string): string {
  if (path === '') return field;
  if (field === '') return path;
  return field.startsWith('[') ? `${path}${field}` : `${path}.${field}`;
}

/** The outcome of decoding network input: a value or a {@link CodecError}, never a throw. */
export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: CodecError };
