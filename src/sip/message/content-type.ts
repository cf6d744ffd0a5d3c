import { HeaderScanner } from './header-scanner.js';
import type { Param } from './sip-message.js';

export interface MediaType {
  type: string;
  subtype: string;
  params: Param[];
}

/** media-type = m-type SLASH m-subtype *(SEMI m-parameter) (RFC 3261 §20.15); type/subtype lowercased. */
export function parseContentType(value: string): MediaType {
  const sc = new HeaderScanner(value, 'Content-Type');
  sc.skipLws();
  const type = sc.readToken('media type expected').toLowerCase();
  sc.expect(0x2f, "'/' expected");
  const subtype = sc.readToken('media subtype expected').toLowerCase();
  const params: Param[] = [];
  sc.readParams(params);
  sc.expectEnd();
  return { type, subtype, params };
}
