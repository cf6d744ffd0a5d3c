import { formatUri } from './uri.js';
import type { SipMessage } from './sip-message.js';

/**
 * Serialises a message (RFC 3261 §7): start line, header fields `Name: value` as stored,
 * Content-Length set to the body length (replacing any, at the position of the first), an empty
 * line, the body bytes.
 */
export function serializeMessage(msg: SipMessage): Buffer {
  let head =
    msg.kind === 'request' ? `${msg.method} ${formatUri(msg.uri)} ${msg.version}\r\n` : `${msg.version} ${msg.status} ${msg.reason}\r\n`;
  let clDone = false;
  for (const f of msg.headers) {
    if (f.key === 'content-length') {
      if (!clDone) head += `${f.name}: ${msg.body.length}\r\n`;
      clDone = true;
      continue;
    }
    head += `${f.name}: ${f.value}\r\n`;
  }
  if (!clDone) head += `Content-Length: ${msg.body.length}\r\n`;
  head += '\r\n';
  const headLen = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLen + msg.body.length);
  out.write(head, 0, 'utf8');
  out.set(msg.body, headLen);
  return out;
}
