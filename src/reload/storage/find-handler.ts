import type { FindAns, FindReq } from '../codec/index.js';
import type { KindDefinition } from './kind.js';
import type { KindRecord } from './kind-record.js';
import { clockwiseDistance } from './resource-id-ring.js';

/** A held resource as Find sees it. */
export interface FindResource {
  id: Uint8Array;
  kinds: ReadonlyMap<number, KindRecord>;
}

/**
 * RFC 6940 §7.4.4 Find: per Kind, the held Resource-ID with a live value that exists, first at or
 * after `req.resource` going round the ring (so R_{n+1} = Find(1 + R_n) walks them, §7.4.4); an
 * empty Resource-ID ("0") for none and for an unknown Kind. Work: Kinds × resources × values.
 */
export function planFind(req: FindReq, resources: Iterable<FindResource>, kinds: (kindId: number) => KindDefinition | undefined, now: number): FindAns {
  const bits = req.resource.length * 8;
  const held = [...resources];
  return {
    results: req.kinds.map((kind) => {
      let best: Uint8Array | undefined;
      let bestDistance = 0n;
      if (kinds(kind) !== undefined) {
        for (const res of held) {
          const r = res.kinds.get(kind);
          if (!r || res.id.length !== req.resource.length) continue;
          let any = false;
          for (const e of r.entries.values()) if (e.expiresAt > now && e.data.value.value.exists) any = true;
          if (!any) continue;
          const d = clockwiseDistance(req.resource, res.id, bits);
          if (best === undefined || d < bestDistance) {
            best = res.id;
            bestDistance = d;
          }
        }
      }
      return { kind, closest: best ? best.slice() : new Uint8Array(0) };
    }),
  };
}
