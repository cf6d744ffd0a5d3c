import { parseVia } from '../message/index.js';
import type { SipResponse } from '../message/sip-message.js';
import { splitFirstListItem } from './forward-request.js';

/**
 * A copy of a response without its first Via value (RFC 3261 §16.7 step 3), or undefined when
 * no Via would remain (the response was meant for us).
 */
export function stripTopVia(res: SipResponse): SipResponse | undefined {
  const headers = res.headers.clone();
  const first = headers.get('via');
  if (first === undefined) return undefined;
  if (parseVia(first).length > 1) headers.replaceFirst('via', splitFirstListItem(first));
  else headers.removeFirst('via');
  if (!headers.has('via')) return undefined;
  return { ...res, headers };
}
