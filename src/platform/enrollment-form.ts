/**
 * RFC 2388 multipart/form-data as the RFC 6940 §11.3 enrollment request uses it (fields
 * username, password, nodeids, csr), bounded: a few small parts only.
 */
import { P2psipError } from '../lib/errors.js';

export interface FormField {
  name: string;
  value: Uint8Array | string;
  contentType?: string;
}

export interface ParsedFormField {
  value: Uint8Array;
  contentType: string | undefined;
}

export const MAX_FORM_PARTS = 16;

/** A malformed form (HTTP 400). */
export class FormError extends P2psipError {
  constructor(message: string) {
    super('ENROLL_BAD_REQUEST', message);
    this.name = 'FormError';
  }
}

/** Encodes fields as multipart/form-data with `boundary`; returns the body and the Content-Type header. */
export function encodeMultipartForm(fields: readonly FormField[], boundary: string): { body: Uint8Array; contentType: string } {
  const parts: Buffer[] = [];
  for (const f of fields) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${f.name.replace(/["\r\n]/g, '')}"`;
    if (f.contentType !== undefined) head += `; filename="${f.name}"\r\nContent-Type: ${f.contentType}`;
    parts.push(Buffer.from(`${head}\r\n\r\n`), Buffer.from(typeof f.value === 'string' ? Buffer.from(f.value, 'utf8') : f.value), Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: new Uint8Array(Buffer.concat(parts)), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Parses a multipart/form-data body; throws {@link FormError}. Duplicate names: the first wins. */
export function parseMultipartForm(body: Uint8Array, contentType: string | undefined): Map<string, ParsedFormField> {
  const m = /^multipart\/form-data\s*;(?:.*;)?\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType ?? '');
  if (m === null) throw new FormError('expected Content-Type multipart/form-data with a boundary (RFC 6940 §11.3)');
  const boundary = m[1] ?? m[2]!;
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delim = Buffer.from(`--${boundary}`);
  const fields = new Map<string, ParsedFormField>();
  let at = buf.indexOf(delim);
  if (at < 0) throw new FormError('no multipart boundary in the body');
  for (let count = 0; ; count++) {
    at += delim.length;
    if (buf.subarray(at, at + 2).toString() === '--') return fields;
    if (count >= MAX_FORM_PARTS) throw new FormError(`more than ${MAX_FORM_PARTS} form parts`);
    if (buf.subarray(at, at + 2).toString() !== '\r\n') throw new FormError('malformed multipart boundary line');
    at += 2;
    const headEnd = buf.indexOf('\r\n\r\n', at);
    if (headEnd < 0) throw new FormError('unterminated part headers');
    const headers = buf.subarray(at, headEnd).toString('utf8');
    const next = buf.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), headEnd + 4);
    if (next < 0) throw new FormError('unterminated form part');
    const name = /content-disposition:\s*form-data;[^\r\n]*?\bname="([^"]*)"/i.exec(headers)?.[1];
    if (name === undefined) throw new FormError('a form part without Content-Disposition name');
    const ct = /(?:^|\r\n)content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim();
    if (!fields.has(name)) fields.set(name, { value: new Uint8Array(buf.subarray(headEnd + 4, next)), contentType: ct });
    at = next + 2;
  }
}
