/**
 * Label values of the peer's metrics, kept to bounded sets whatever the network sends: a method
 * outside the known ones is `other`, a status code outside 100–699 is `other`, a RELOAD message
 * code outside RFC 6940 §6.3.3's table is `other`.
 */
import { MessageCode } from '../../reload/codec/index.js';

/** The SIP methods counted apart (RFC 3261 and its extensions the proxy forwards); any other is `other`. */
export const SIP_METHODS: readonly string[] = Object.freeze([
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'OPTIONS',
  'REGISTER',
  'MESSAGE',
  'SUBSCRIBE',
  'NOTIFY',
  'REFER',
  'INFO',
  'UPDATE',
  'PRACK',
  'PUBLISH',
]);

const SIP_METHOD_SET: ReadonlySet<string> = new Set(SIP_METHODS);

/** Label for a SIP method (case-sensitive, RFC 3261 §7.1: `invite` is another method). */
export function sipMethodLabel(method: string): string {
  return SIP_METHOD_SET.has(method) ? method : 'other';
}

/** Label for a SIP status code: its three digits for 100–699, else `other`. */
export function sipStatusLabel(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 699 ? String(status) : 'other';
}

/** SIP transports a request may arrive on (`channel`: a SIP channel from another peer). */
export const SIP_TRANSPORTS: readonly string[] = Object.freeze(['udp', 'tcp', 'tls', 'ws', 'wss', 'channel']);

export function sipTransportLabel(transport: string): string {
  return SIP_TRANSPORTS.includes(transport) ? transport : 'other';
}

const CODE_NAMES = new Map<number, string>(Object.entries(MessageCode).map(([name, code]) => [code, name]));

/** Label for a RELOAD message code: its RFC 6940 name (`store_req`, `fetch_ans`, `error`), else `other`. */
export function reloadMessageLabel(code: number): string {
  return CODE_NAMES.get(code) ?? 'other';
}

/** Label for the method of a RELOAD request code: `store`, `fetch`, `app_attach`…, else `other`. */
export function reloadMethodLabel(code: number): string {
  const name = CODE_NAMES.get(code);
  return name !== undefined && name.endsWith('_req') ? name.slice(0, -4) : 'other';
}

/**
 * How a call ended up, from the final answer to its INVITE: `answered` (2xx), `busy` (486, 600),
 * `declined` (603), `cancelled` (487: the caller hung up first), `failed` (anything else, or none).
 */
export type CallOutcome = 'answered' | 'busy' | 'declined' | 'cancelled' | 'failed';

export const CALL_OUTCOMES: readonly CallOutcome[] = Object.freeze(['answered', 'busy', 'declined', 'cancelled', 'failed'] as const);

export function callOutcome(status: number | undefined): CallOutcome {
  if (status === undefined) return 'failed';
  if (status >= 200 && status < 300) return 'answered';
  if (status === 486 || status === 600) return 'busy';
  if (status === 603) return 'declined';
  if (status === 487) return 'cancelled';
  return 'failed';
}
