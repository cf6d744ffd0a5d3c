/**
 * What this peer stores, per Kind (RFC 6940 §7: SIP-REGISTRATION, TURN-SERVICE, certificates, the
 * application's own kinds): resources and values. The storage engine keeps only totals, so this walks
 * its resources — bounded: past {@link MAX_KIND_SCAN_RESOURCES} it answers with the reason instead.
 */

/** Resources walked at most for the per-kind view. */
export const MAX_KIND_SCAN_RESOURCES = 5_000;

export interface KindUsage {
  kind: number;
  /** The Kind's registered name, or `kind-<id>` when the configuration does not know it. */
  name: string;
  resources: number;
  values: number;
}

/** The part of the overlay's storage read here. */
export interface KindScanSource {
  summary(): { resources: number };
  resourceIds(): Uint8Array[];
  /** Everything held at one resource, per kind (storage-engine.ts storeReqFor). */
  kindData(resource: Uint8Array): ReadonlyArray<{ kind: number; values: readonly unknown[] }>;
  kindName(kind: number): string | undefined;
}

export type KindsView = { kinds: KindUsage[] } | { kinds: null; reason: string };

export function storageByKind(src: KindScanSource, limit = MAX_KIND_SCAN_RESOURCES): KindsView {
  const total = src.summary().resources;
  if (total > limit) return { kinds: null, reason: `${total} resources stored: more than the ${limit} the per-kind view walks` };
  const by = new Map<number, KindUsage>();
  for (const id of src.resourceIds().slice(0, limit)) {
    for (const k of src.kindData(id)) {
      const u = by.get(k.kind) ?? { kind: k.kind, name: src.kindName(k.kind) ?? `kind-${k.kind}`, resources: 0, values: 0 };
      u.resources++;
      u.values += k.values.length;
      by.set(k.kind, u);
    }
  }
  return { kinds: [...by.values()].sort((a, b) => a.kind - b.kind) };
}
