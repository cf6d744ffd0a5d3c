/** Address helpers shared by the node transport driver files. */
import { isIP } from 'node:net';
import type { TransportAddress, TransportProtocol } from '../sip/transport/sip-transport.js';

/** Strips IPv6 brackets and unmaps IPv4-mapped IPv6 (`::ffff:192.0.2.1` → `192.0.2.1`). */
export function normalizeHost(host: string | undefined): string {
  if (host === undefined) return '';
  let h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(h);
  if (m !== null) h = m[1]!;
  return h;
}

export function address(protocol: TransportProtocol, host: string | undefined, port: number | undefined): TransportAddress {
  return { protocol, host: normalizeHost(host), port: port ?? 0 };
}

/** 6 for an IPv6 literal, 4 otherwise (IPv4 literals and names). */
export function familyOf(host: string): 4 | 6 {
  return isIP(normalizeHost(host)) === 6 ? 6 : 4;
}

/** `host` as it goes in a URL authority: IPv6 in brackets. */
export function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

export function addressKey(a: TransportAddress): string {
  return `${a.protocol}|${normalizeHost(a.host).toLowerCase()}|${a.port}`;
}

/** Converts what node hands us (Buffer, ArrayBuffer, Buffer[]) to one Uint8Array. */
export function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
