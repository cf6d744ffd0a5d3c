/**
 * A few most recent results of a header-value parser. One message's headers are read by
 * several layers (validation, received/rport, transaction matching, loop detection, the
 * registrar), so the same value string is parsed again and again on the hot path. Only
 * successes are kept; callers get deep copies, so mutating a result never touches the cache.
 */
import type { NameAddr, Param, Uri, Via } from './sip-message.js';

export class ParseCache<T> {
  private readonly keys: Array<string | undefined>;
  private readonly values: Array<T | undefined>;
  private next = 0;

  constructor(
    private readonly size: number,
    private readonly copy: (value: T) => T,
  ) {
    this.keys = new Array<string | undefined>(size).fill(undefined);
    this.values = new Array<T | undefined>(size).fill(undefined);
  }

  get(key: string, parse: (key: string) => T): T {
    for (let i = 0; i < this.size; i++) {
      if (this.keys[i] === key) return this.copy(this.values[i] as T);
    }
    const value = parse(key);
    this.keys[this.next] = key;
    this.values[this.next] = this.copy(value);
    this.next = (this.next + 1) % this.size;
    return value;
  }
}

export function copyParams(params: readonly Param[]): Param[] {
  return params.map((p) => ({ name: p.name, value: p.value }));
}

export function copyUri(uri: Uri): Uri {
  return 'params' in uri ? { ...uri, params: copyParams(uri.params) } : { ...uri };
}

export function copyNameAddr(na: NameAddr): NameAddr {
  return { displayName: na.displayName, uri: copyUri(na.uri), params: copyParams(na.params) };
}

export function copyVias(vias: readonly Via[]): Via[] {
  return vias.map((v) => ({ ...v, params: copyParams(v.params) }));
}
