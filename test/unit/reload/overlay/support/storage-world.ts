/**
 * A world of OverlayNodes with real signatures (ECDSA P-256 certificates issued by a test overlay
 * CA, RFC 6940 §11.3, with Node-IDs drawn from the seeded random so the ring is the same on every
 * run) and OverlayStorage on each, over MemoryLinks on one ManualClock: storage, replication
 * and churn tests.
 */
import { ManualClock } from '../../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../../src/lib/random.js';
import type { ForwardingHeader, SecurityBlock } from '../../../../../src/reload/codec/index.js';
import { OverlayNode } from '../../../../../src/reload/overlay/overlay-node.js';
import type { OverlayOptions, OverlaySecurity, SignerInfo } from '../../../../../src/reload/overlay/overlay-types.js';
import { CertificateSecurity, CertificateStore, createOverlayCa, issueCaSignedIdentity } from '../../../../../src/reload/security/index.js';
import type { NodeIdentity, OverlayCa } from '../../../../../src/reload/security/index.js';
import { BagSharingSecurity, MemoryStorageBackend, OverlayStorage, StorageEngine, chordResourceId } from '../../../../../src/reload/storage/index.js';
import type { KindDefinition, OverlayStorageOptions, StorageCredentials } from '../../../../../src/reload/storage/index.js';
import { certificateStorageCredentials } from '../../../../../src/node/certificate-storage-credentials.js';
import { MemoryLinkNet, type MemoryLinks } from './memory-links.js';
import { flush } from './overlay-world.js';

export const STORAGE_OVERLAY = 'storage.test';
/** Certificates are valid around this instant; the world's wall clock starts here. */
export const WORLD_EPOCH = Date.UTC(2026, 0, 15, 12, 0, 0);

export const TEST_KINDS: readonly KindDefinition[] = [
  { id: 1, name: 'SIP-REGISTRATION', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH', maxCount: 8, maxSize: 1000 },
  { id: 3, name: 'CERTIFICATE_BY_NODE', dataModel: 'array', accessControl: 'NODE-MATCH', maxCount: 4, maxSize: 2000 },
  { id: 16, name: 'CERTIFICATE_BY_USER', dataModel: 'array', accessControl: 'USER-MATCH', maxCount: 4, maxSize: 2000 },
  { id: 100, name: 'PROFILE', dataModel: 'single', accessControl: 'USER-MATCH', maxCount: 1, maxSize: 1000 },
];

export const hash16 = (b: Uint8Array): Uint8Array => chordResourceId(b, 16);

/** CertificateSecurity for sign/verify; a MemoryLink's "certificate" is the peer's Node-ID. */
class WorldSecurity implements OverlaySecurity {
  constructor(private readonly inner: CertificateSecurity) {}
  identifyPeer(certificate: Uint8Array | undefined): Uint8Array[] | Error {
    return certificate?.length === 16 ? [certificate] : new Error('no Node-ID');
  }
  sign(header: ForwardingHeader, contents: Uint8Array, extra?: readonly Uint8Array[]): SecurityBlock {
    return this.inner.sign(header, contents, extra);
  }
  verify(header: ForwardingHeader, contents: Uint8Array, block: SecurityBlock): { ok: true; signer: SignerInfo | undefined } | { ok: false; info: string } {
    return this.inner.verify(header, contents, block);
  }
}

export interface StoragePeer {
  node: OverlayNode;
  links: MemoryLinks;
  storage: OverlayStorage;
  engine: StorageEngine;
  identity: NodeIdentity;
  credentials: StorageCredentials;
  store: CertificateStore;
  crashed: boolean;
}

export class StorageWorld {
  readonly clock = new ManualClock(1_000_000);
  readonly random: SeededRandom;
  readonly net: MemoryLinkNet;
  readonly peers: StoragePeer[] = [];
  private seed: number;

  constructor(
    seed = 1,
    readonly options: Partial<OverlayOptions> = {},
    readonly storageOptions: OverlayStorageOptions = { holdDownMs: 2000, retryMs: 1000, resyncIntervalMs: 5000 },
  ) {
    this.seed = seed * 1000;
    this.random = new SeededRandom(seed);
    this.net = new MemoryLinkNet(this.clock, 10);
  }

  wallClock = (): number => WORLD_EPOCH + this.clock.now();

  kinds = (id: number): KindDefinition | undefined => TEST_KINDS.find((k) => k.id === id);

  private ca: OverlayCa | undefined;

  /** A CA-issued identity whose Node-ID comes from the world's seeded random. */
  async identity(userName: string): Promise<NodeIdentity> {
    this.ca ??= await createOverlayCa({ overlay: STORAGE_OVERLAY, now: WORLD_EPOCH, random: new SeededRandom(this.seed), algorithm: 'ecdsa-p256' });
    const nodeId = this.random.bytes(16);
    return issueCaSignedIdentity(this.ca, { overlay: STORAGE_OVERLAY, userName, nodeIds: [nodeId], now: WORLD_EPOCH, random: new SeededRandom(++this.seed), algorithm: 'ecdsa-p256' });
  }

  async run(ms: number, step = 5): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      this.clock.advance(Math.min(step, end - this.clock.now()));
      await flush();
    }
  }

  /** Runs the world until `p` settles (at most `maxMs`). */
  async settle<T>(p: Promise<T>, maxMs = 30_000): Promise<T> {
    let done = false;
    let value: T | undefined;
    let error: unknown;
    p.then(
      (v) => {
        value = v;
        done = true;
      },
      (e: unknown) => {
        error = e;
        done = true;
      },
    );
    for (let t = 0; t < maxMs && !done; t += 5) {
      this.clock.advance(5);
      await flush();
    }
    if (!done) throw new Error(`not settled within ${maxMs} ms`);
    if (error !== undefined) throw error instanceof Error ? error : new Error(String(error));
    return value as T;
  }

  async add(userName = `user${this.peers.length}@${STORAGE_OVERLAY}`, identity?: NodeIdentity): Promise<StoragePeer> {
    const i = this.peers.length;
    const host = `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const id = identity ?? (await this.identity(userName));
    const nodeId = id.certificate.nodeIds[0]!;
    const links = this.net.create(nodeId, host);
    const store = new CertificateStore(
      { overlay: STORAGE_OVERLAY, rootCertificates: [this.ca!.certificate], selfSignedPermitted: false, selfSignedDigest: 'sha256', nodeIdLength: 16 },
      { now: () => WORLD_EPOCH },
    );
    const security = new BagSharingSecurity(new WorldSecurity(new CertificateSecurity(id, store)), (der) => void store.add(der));
    const node = new OverlayNode({ clock: this.clock, random: new SeededRandom(this.random.u32()), links, security }, nodeId, { overlayName: STORAGE_OVERLAY, ...this.options });
    const credentials = certificateStorageCredentials(id, store);
    const backend = new MemoryStorageBackend();
    const engine = new StorageEngine({ clock: this.clock, backend, kinds: this.kinds, hashResourceName: hash16, verifyStoredData: credentials.verifier });
    const storage = new OverlayStorage(
      { host: node, engine, clock: this.clock, wallClock: this.wallClock, credentials, security, kinds: this.kinds, hashResourceName: hash16, backend },
      this.storageOptions,
    );
    storage.start();
    const peer: StoragePeer = { node, links, storage, engine, identity: id, credentials, store, crashed: false };
    this.peers.push(peer);
    const boot = this.live().filter((p) => p !== peer).slice(0, 1).map((p) => p.node.endpoint()).filter((e) => e !== undefined);
    await this.settle(node.start({ host, port: 6084 }, boot), 60_000);
    return peer;
  }

  live(): StoragePeer[] {
    return this.peers.filter((p) => !p.crashed && p.node.state === 'joined');
  }

  /** kill -9: the links die (neighbours notice after the link timeout), nothing is sent. */
  crash(p: StoragePeer): void {
    p.crashed = true;
    p.links.crash();
    p.node.crash();
    p.storage.replicas.close();
  }

  /** The live peers holding `resource`, ordered as its replica set (responsible first, by ring distance). */
  holders(resource: Uint8Array): StoragePeer[] {
    const k = this.peers[0]!.node.ring.fromBytes(resource);
    return this.live()
      .filter((p) => p.engine.replicaNumber(resource) !== undefined)
      .sort((a, b) => {
        const da = a.node.ring.distance(k, a.node.id);
        const db = b.node.ring.distance(k, b.node.id);
        return da < db ? -1 : da > db ? 1 : 0;
      });
  }

  /** The live peers in replica-set order for `resource`: the responsible peer and the next ones clockwise. */
  ringOrder(resource: Uint8Array): StoragePeer[] {
    const k = this.peers[0]!.node.ring.fromBytes(resource);
    return this.live().sort((a, b) => {
      const da = a.node.ring.distance(k, a.node.id);
      const db = b.node.ring.distance(k, b.node.id);
      return da < db ? -1 : da > db ? 1 : 0;
    });
  }
}
