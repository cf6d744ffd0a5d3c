/**
 * The real overlay in the simulator: each simulated peer is an OverlayNode on a LinkLayer
 * (RFC 6940 §6.6 framing, ACKs, keepalives) over the simulator's stream links, with the
 * credential exchange standing in for TLS. Messages are not signed here (UnsignedSecurity):
 * the simulator measures routing and topology maintenance, not cryptography. With `storage`,
 * each peer also runs the real RELOAD storage (StorageEngine on a memory backend, OverlayStorage
 * with its ReplicaMaintainer); identities are then Node-IDs trusted as claimed (SimStorageSecurity).
 */
import { LinkLayer } from '../reload/link/index.js';
import type { LinkLayerOptions } from '../reload/link/index.js';
import { MessageCode, encodePingReq } from '../reload/codec/index.js';
import { OverlayNode } from '../reload/overlay/overlay-node.js';
import type { OverlayLinks, OverlayOptions, OverlaySecurity } from '../reload/overlay/overlay-types.js';
import { UnsignedSecurity } from '../reload/overlay/unsigned-security.js';
import { BagSharingSecurity, MemoryStorageBackend, OverlayStorage, StorageEngine, chordResourceId } from '../reload/storage/index.js';
import type { KindDefinition, OverlayStorageOptions } from '../reload/storage/index.js';
import { IdentityHelloDriver } from '../sim/identity-hello-driver.js';
import type { SimFetchResult, SimPeer, SimPeerContext, SimPeerFactory, SimPeerStorage, SimStoreResult } from '../sim/sim-peer.js';
import { SimStorageSecurity, simStorageCredentials } from '../sim/sim-storage-security.js';
import { StorageCountingLinks, StorageTrafficMeter } from '../sim/storage-traffic.js';
import type { LinkEndpoint } from '../reload/link/link-driver.js';

export interface OverlaySimPeerStorageOptions {
  /** Replication timing; `maxQueued: 0` turns replica Stores and handovers off (the checker's own test). */
  replication?: OverlayStorageOptions;
}

export interface OverlaySimPeerOptions {
  overlay?: Partial<OverlayOptions>;
  links?: LinkLayerOptions;
  /** Run RELOAD storage on every peer (the storage workload of `p2psip sim --store-values`). */
  storage?: OverlaySimPeerStorageOptions;
}

/**
 * The Kind the storage workload writes: SIP-REGISTRATION as RFC 7904 defines it (dictionary keyed
 * by the writer's Node-ID, USER-NODE-MATCH) with the proxy-peer rule of the LAN overlay (a peer
 * writes its entry for the phones it serves). maxCount leaves room for the entries of earlier
 * writers until they expire.
 */
export const SIM_REGISTRATION_KIND: KindDefinition = {
  id: 1,
  name: 'SIP-REGISTRATION',
  dataModel: 'dictionary',
  accessControl: 'USER-NODE-MATCH',
  proxyPeerWrites: true,
  maxCount: 64,
  maxSize: 1000,
};

const PING = encodePingReq({ padding: new Uint8Array(0) });

export function createOverlaySimPeerFactory(o: OverlaySimPeerOptions = {}): SimPeerFactory {
  const meter = new StorageTrafficMeter(o.overlay?.nodeIdLength ?? 16);
  return (ctx: SimPeerContext): SimPeer => new OverlaySimPeer(ctx, o, meter);
}

class OverlaySimPeer implements SimPeer {
  readonly nodeId: Uint8Array;
  readonly storage: SimPeerStorage | undefined;
  private readonly node: OverlayNode;
  private readonly links: LinkLayer;
  private readonly overlayStorage: OverlayStorage | undefined;

  constructor(
    private readonly ctx: SimPeerContext,
    o: OverlaySimPeerOptions,
    meter: StorageTrafficMeter,
  ) {
    this.nodeId = ctx.random.bytes(o.overlay?.nodeIdLength ?? 16);
    this.links = new LinkLayer({ driver: new IdentityHelloDriver(ctx.driver, this.nodeId), clock: ctx.clock }, o.links ?? {});
    // storage on when the factory says so or the run asks for it (the run's workload)
    const storageOptions: OverlaySimPeerStorageOptions | undefined = o.storage ?? (ctx.storage === undefined ? undefined : { replication: ctx.storage.replication ? {} : { maxQueued: 0 } });
    const counting = storageOptions === undefined ? undefined : new StorageCountingLinks(this.links, meter);
    const links: OverlayLinks = counting ?? this.links;
    const security: OverlaySecurity = storageOptions === undefined ? new UnsignedSecurity(this.nodeId.length) : new BagSharingSecurity(new SimStorageSecurity(this.nodeId), () => undefined);
    this.node = new OverlayNode({ clock: ctx.clock, random: ctx.random, links, security }, this.nodeId, {
      overlayName: 'sim.p2psip',
      ...o.overlay,
    });
    if (storageOptions === undefined || counting === undefined || !(security instanceof BagSharingSecurity)) {
      this.overlayStorage = undefined;
      this.storage = undefined;
      return;
    }
    const idLength = this.nodeId.length;
    const hashResourceName = (name: Uint8Array): Uint8Array => chordResourceId(name, idLength);
    const kinds = (id: number): KindDefinition | undefined => (id === SIM_REGISTRATION_KIND.id ? SIM_REGISTRATION_KIND : undefined);
    const credentials = simStorageCredentials(this.nodeId);
    const engine = new StorageEngine({ clock: ctx.clock, backend: new MemoryStorageBackend(), kinds, hashResourceName, verifyStoredData: credentials.verifier });
    engine.start();
    const storage = new OverlayStorage({ host: this.node, engine, clock: ctx.clock, wallClock: () => ctx.clock.now(), credentials, security, kinds, hashResourceName }, storageOptions.replication ?? {});
    storage.start();
    this.overlayStorage = storage;
    this.storage = simPeerStorage(storage, engine, counting);
  }

  async start(bootstrap: LinkEndpoint[]): Promise<void> {
    await this.node.start({ host: this.ctx.host, port: 6084 }, bootstrap);
  }

  endpoint(): LinkEndpoint {
    return this.node.endpoint() ?? { host: this.ctx.host, port: 6084 };
  }

  mergeThrough(ep: LinkEndpoint): Promise<string> {
    return this.node.mergeThrough(ep);
  }

  successors(): Uint8Array[] {
    return this.node.neighbours().successors.map((x) => this.node.ring.toBytes(x));
  }

  async leave(): Promise<void> {
    try {
      await this.overlayStorage?.handOffBeforeLeave();
      await this.node.leave();
    } finally {
      await this.overlayStorage?.stop().catch(() => undefined);
    }
  }

  crash(): void {
    this.node.crash();
    void this.overlayStorage?.stop().catch(() => undefined);
  }

  async lookup(resourceId: Uint8Array) {
    const a = await this.node.requestResource(resourceId, MessageCode.ping_req, PING);
    if (!a.ok) return { ok: false as const, reason: a.errorCode === 0 ? a.info : `error ${a.errorCode}: ${a.info}` };
    if (a.responder === undefined) return { ok: false as const, reason: 'no responder' };
    return { ok: true as const, responder: a.responder, hops: a.hops };
  }

  counters(): { bytesSent: number; maintenanceBytesSent: number } {
    const c = this.node.counters;
    // the 9-byte ACK frame (RFC 6940 §6.6.2) sent for each maintenance message received is maintenance too
    return { bytesSent: this.links.totals().bytesOut, maintenanceBytesSent: c.maintenanceBytesOut + 9 * c.maintenanceMessagesIn };
  }
}

function failure(errorCode: number, info: string): string {
  return errorCode === 0 ? info : `error ${errorCode}: ${info}`;
}

/** The workload's view of a peer's OverlayStorage: its dictionary entry of the SIP-REGISTRATION Kind. */
function simPeerStorage(storage: OverlayStorage, engine: StorageEngine, counting: StorageCountingLinks): SimPeerStorage {
  const kind = SIM_REGISTRATION_KIND.id;
  return {
    resourceId: (name) => storage.resourceId({ resourceName: name }),
    async store(name, value, lifetimeS): Promise<SimStoreResult> {
      const r = await storage.store(kind, { resourceName: name }, [{ model: 'dictionary', key: storage.ownNodeId(), value: { exists: true, value } }], { lifetime: lifetimeS });
      return r.ok ? { ok: true } : { ok: false, reason: failure(r.errorCode, r.info) };
    },
    async fetch(name): Promise<SimFetchResult> {
      const r = await storage.fetch(kind, { resourceName: name });
      if (!r.ok) return { ok: false, reason: failure(r.errorCode, r.info) };
      return { ok: true, values: r.values.filter((v) => v.data.value.value.exists).map((v) => v.data.value.value.value), responder: r.responder };
    },
    replicaNumber: (rid) => engine.replicaNumber(rid),
    summary: () => engine.summary(),
    traffic: () => counting.traffic,
    replication: () => {
      const c = storage.replicas.counters;
      return { replicaStoresSent: c.replicaStoresSent, handoversSent: c.handoversSent, sendFailures: c.sendFailures, queueOverflows: c.queueOverflows };
    },
  };
}
