/**
 * What this peer stores, per Kind (RFC 6940 §7: SIP-REGISTRATION, TURN-SERVICE, certificates, the
 * application's own kinds): values and the bytes charged for them, from the storage engine's one-pass
 * count (StorageEngine.summaryByKind), named from the overlay configuration.
 */

export interface KindUsage {
  kind: number;
  /** The Kind's registered name, or `kind-<id>` when the configuration does not know it. */
  name: string;
  values: number;
  bytes: number;
}

/** The part of the overlay's storage read here. */
export interface KindScanSource {
  summaryByKind(): ReadonlyMap<number, { values: number; bytes: number }>;
  kindName(kind: number): string | undefined;
}

export interface KindsView {
  kinds: KindUsage[];
}

export function storageByKind(src: KindScanSource): KindsView {
  const kinds = [...src.summaryByKind()]
    .filter(([, u]) => u.values > 0)
    .map(([kind, u]) => ({ kind, name: src.kindName(kind) ?? `kind-${kind}`, values: u.values, bytes: u.bytes }))
    .sort((a, b) => a.kind - b.kind);
  return { kinds };
}
