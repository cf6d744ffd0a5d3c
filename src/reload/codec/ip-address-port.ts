import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** RFC 6940 §6.5.1.1 AddressType codes (0 is invalid). */
export const AddressType = { ipv4_address: 1, ipv6_address: 2 } as const;

/**
 * RFC 6940 §6.5.1.1 IpAddressPort: an IPv4 (4-byte) or IPv6 (16-byte) address in network order and
 * a port. `unknown` keeps another AddressType with its `length` bytes (the structure is extensible).
 */
export type IpAddressPort =
  | { type: 'ipv4'; addr: Uint8Array; port: number }
  | { type: 'ipv6'; addr: Uint8Array; port: number }
  | { type: 'unknown'; code: number; data: Uint8Array };

export function readIpAddressPort(r: Reader): IpAddressPort {
  const at = r.offset;
  const code = r.u8('type');
  if (code === 0) r.fail('type', 'invalidAddressType (0)', at);
  const lengthAt = r.offset;
  const v = r.take(r.u8('length'), '', 'length', lengthAt);
  let a: IpAddressPort;
  if (code === AddressType.ipv4_address) {
    if (v.remaining !== 6) r.fail('length', `an IPv4AddrPort is 6 bytes, got ${v.remaining}`, lengthAt);
    a = { type: 'ipv4', addr: v.bytes(4, 'addr'), port: v.u16('port') };
  } else if (code === AddressType.ipv6_address) {
    if (v.remaining !== 18) r.fail('length', `an IPv6AddrPort is 18 bytes, got ${v.remaining}`, lengthAt);
    a = { type: 'ipv6', addr: v.bytes(16, 'addr'), port: v.u16('port') };
  } else {
    a = { type: 'unknown', code, data: v.bytes(v.remaining, 'data') };
  }
  v.expectEnd();
  return a;
}

export function writeIpAddressPort(w: Writer, a: IpAddressPort): void {
  if (typeof a !== 'object' || a === null) w.fail('', 'not an IpAddressPort');
  switch (a.type) {
    case 'ipv4':
    case 'ipv6': {
      const size = a.type === 'ipv4' ? 4 : 16;
      if (!(a.addr instanceof Uint8Array) || a.addr.length !== size) w.fail('addr', `an ${a.type} address is ${size} bytes`);
      w.u8(a.type === 'ipv4' ? AddressType.ipv4_address : AddressType.ipv6_address, 'type');
      w.prefixed(1, 'length', () => {
        w.bytes(a.addr, 'addr');
        w.u16(a.port, 'port');
      });
      return;
    }
    case 'unknown':
      if (!Number.isInteger(a.code) || a.code < 3 || a.code > 255) w.fail('type', `unknown AddressType ${String(a.code)} must be 3..255`);
      w.u8(a.code, 'type');
      w.opaque(1, a.data, 'length');
      return;
    default:
      w.fail('type', 'not an IpAddressPort');
  }
}
