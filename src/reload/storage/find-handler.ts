import type { FindAns, FindReq } from '../codec/index.js';
import type { KindDefinition } from './kind.js';
import { fromHex, toHex } from './resource-id-ring.js';

/**
 * A held resource as Find sees it (issue 18: the engine answers from its in-memory index, without
 * reading values): `hex` is its id in lowercase hex.
 */
export interface FindResource {
  hex: string;
  /** Whether a value of `kind` that exists (exists = true) is held here and live at `now`. */
  hasLive(kind: number, now: number): boolean;
}

/**
 * RFC 6940 §7.4.4 Find: per Kind, the held Resource-ID with a live value that exists, first at or
 * after `req.resource` going round the ring (so R_{n+1} = Find(1 + R_n) walks them, §7.4.4); an
 * empty Resource-ID ("0") for none and for an unknown Kind. Work: Kinds × resources.
 */
export function planFind(req: FindReq, resources: Iterable<FindResource>, kinds: (kindId: number) => KindDefinition | undefined, now: number): FindAns {
  // Same-length ids compare as their hex text; the clockwise-first id at or after R is the
  // smallest id >= R, else (wrapping) the smallest id of all.
  const target = toHex(req.resource);
  const held: FindResource[] = [];
  for (const r of resources) if (r.hex.length === target.length) held.push(r);
  return {
    results: req.kinds.map((kind) => {
      let atOrAfter: FindResource | undefined;
      let smallest: FindResource | undefined;
      // issue 15: a private Kind is never revealed, not even where it is held
      const def = kinds(kind);
      if (def !== undefined && def.private !== true) {
        for (const h of held) {
          if (!h.hasLive(kind, now)) continue;
          if (smallest === undefined || h.hex < smallest.hex) smallest = h;
          if (h.hex >= target && (atOrAfter === undefined || h.hex < atOrAfter.hex)) atOrAfter = h;
        }
      }
      const best = atOrAfter ?? smallest;
      return { kind, closest: best ? fromHex(best.hex) : new Uint8Array(0) };
    }),
  };
}
