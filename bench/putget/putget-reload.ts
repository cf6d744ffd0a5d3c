/**
 * Our side of the putget benchmark: N OverlayNodes in this process on loopback, each with real
 * TLS links (TlsLinkDriver, mutual TLS with self-signed ECDSA P-256 certificates, RFC 6940
 * §11.3.1), signed messages (CertificateSecurity) and OverlayStorage over an in-memory backend.
 */
import { performance } from 'node:perf_hooks';
import { CryptoRandom } from '../../src/platform/crypto-random.js';
import { SystemClock } from '../../src/platform/system-clock.js';
import { TlsLinkDriver } from '../../src/platform/tls-link-driver.js';
import { defaultLanConfiguration } from '../../src/reload/config/index.js';
import { LinkLayer } from '../../src/reload/link/index.js';
import { OverlayNode } from '../../src/reload/overlay/overlay-node.js';
import { CertificateSecurity, CertificateStore, certificateToPem, createSelfSignedIdentity, privateKeyToPem } from '../../src/reload/security/index.js';
import type { NodeIdentity } from '../../src/reload/security/index.js';
import { BagSharingSecurity, MemoryStorageBackend, OverlayStorage, StorageEngine, chordResourceId } from '../../src/reload/storage/index.js';
import { certificateStorageCredentials } from '../../src/node/certificate-storage-credentials.js';
import type { LatencyStats } from './putget-stats.js';
import { heapBytes, settledRss, summariseRun } from './putget-stats.js';
import { PutGetTracer } from './putget-trace.js';
import type { PutGetTrace } from './putget-trace.js';

const OVERLAY = 'putget.bench';
const SIP_REGISTRATION = 1;

export interface PutGetRun {
  system: string;
  nodes: number;
  ops: number;
  valueBytes: number;
  joinSeconds: number;
  put: LatencyStats;
  get: LatencyStats;
  failures: number;
  rssPerPeerMB: number;
  /** JS heap + external + array buffers per peer (steadier than RSS when memory is reused). */
  heapPerPeerMB: number;
  notes: string;
  /** With --trace (p2psip only): what the measured operations overlapped with. */
  trace?: PutGetTrace;
}

interface BenchPeer {
  node: OverlayNode;
  storage: OverlayStorage;
  identity: NodeIdentity;
  links: LinkLayer;
  certificates: CertificateStore;
}

export async function runReload(n: number, ops: number, valueBytes: number, warmup: number, trace = false): Promise<PutGetRun> {
  const config = defaultLanConfiguration(OVERLAY, 'open');
  const kinds = new Map(config.kinds.map((k) => [k.id, k]));
  const hash = (b: Uint8Array): Uint8Array => chordResourceId(b, config.nodeIdLength);
  const clock = new SystemClock();
  const random = new CryptoRandom();
  const identities: NodeIdentity[] = [];
  for (let i = 0; i < n; i++) identities.push(await createSelfSignedIdentity({ overlay: OVERLAY, userName: `u${i}@${OVERLAY}`, now: Date.now(), random, algorithm: 'ecdsa-p256', digest: config.selfSignedDigest }));
  const rss0 = await settledRss();
  const heap0 = heapBytes();
  const peers: BenchPeer[] = [];
  const t0 = performance.now();
  for (const identity of identities) {
    const store = new CertificateStore({ overlay: OVERLAY, rootCertificates: [], selfSignedPermitted: true, selfSignedDigest: config.selfSignedDigest, nodeIdLength: config.nodeIdLength }, { now: () => Date.now() });
    const driver = new TlsLinkDriver({ cert: certificateToPem(identity.certificate.der), key: privateKeyToPem(identity.keys.privateKey), verifyPeer: (der) => store.trustsPeerCertificate(der) });
    const links = new LinkLayer({ driver, clock, random }, { maxMessageSize: config.maxMessageSize, minRtoMs: 200 });
    const security = new BagSharingSecurity(new CertificateSecurity(identity, store), (der) => void store.add(der));
    const nodeId = identity.certificate.nodeIds[0]!;
    const node = new OverlayNode({ clock, random, links, security }, nodeId, { overlayName: OVERLAY, nodeIdLength: config.nodeIdLength, maxMessageSize: config.maxMessageSize });
    const credentials = certificateStorageCredentials(identity, store);
    const k = (id: number) => kinds.get(id);
    const engine = new StorageEngine({ clock, backend: new MemoryStorageBackend(), kinds: k, hashResourceName: hash, verifyStoredData: credentials.verifier, wallClock: () => Date.now() });
    const storage = new OverlayStorage({ host: node, engine, clock, wallClock: () => Date.now(), credentials, security, kinds: k, hashResourceName: hash });
    storage.start();
    const boot = peers.length === 0 ? [] : [peers[0]!.node.endpoint()!];
    await node.start({ host: '127.0.0.1', port: 0 }, boot);
    peers.push({ node, storage, identity, links, certificates: store });
  }
  const joinSeconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 3000)); // reactive Updates settle
  const rss1 = await settledRss();
  const heap1 = heapBytes();
  const put: number[] = [];
  const get: number[] = [];
  let failures = 0;
  const tracer = trace ? new PutGetTracer(peers.map((p) => p.node), peers.map((p) => p.certificates)) : undefined;
  if (tracer !== undefined) for (const p of peers) p.links.setUser(tracer.countingUser(p.node));
  for (let i = 0; i < warmup + ops; i++) {
    const a = peers[(i * 7 + 3) % n]!;
    const b = peers[(i * 13 + 5 + Math.floor(i / n)) % n === (i * 7 + 3) % n ? (i * 13 + 6) % n : (i * 13 + 5 + Math.floor(i / n)) % n]!;
    const key = a.identity.certificate.nodeIds[0]!;
    const ref = { resourceName: a.identity.certificate.userName };
    const value = new Uint8Array(valueBytes).fill(i & 0xff);
    const counted = i >= warmup;
    const s0 = counted ? tracer?.snapshot() : undefined;
    const p0 = performance.now();
    const s = await a.storage.store(SIP_REGISTRATION, ref, [{ model: 'dictionary', key, value: { exists: true, value } }], { lifetime: 3600 });
    const p1 = performance.now();
    const s1 = counted ? tracer?.snapshot() : undefined;
    const g0 = performance.now();
    const f = await b.storage.fetch(SIP_REGISTRATION, ref, { keys: [key] });
    const p2 = performance.now();
    const ok = s.ok && f.ok && f.values.length === 1 && f.values[0]!.data.value.value.value[0] === (i & 0xff);
    if (!counted) continue;
    if (!ok) failures++;
    put.push(p1 - p0);
    get.push(p2 - g0);
    if (tracer !== undefined && s0 !== undefined && s1 !== undefined) {
      const s2 = tracer.snapshot();
      tracer.record({ kind: 'put', start: p0, end: p1, before: s0, after: s1 });
      tracer.record({ kind: 'get', start: g0, end: p2, before: s1, after: s2 });
    }
  }
  const traced = tracer?.finish();
  await Promise.all(peers.map((p) => p.storage.stop()));
  await Promise.all(peers.map((p) => p.node.shutdown()));
  const summary = summariseRun({
    system: 'p2psip (RELOAD, TLS, signatures)',
    nodes: n,
    ops,
    valueBytes,
    joinSeconds,
    put,
    get,
    failures,
    memory: { rss0, rss1, heap0, heap1 },
    notes: 'Store answered by the responsible peer once it and a replica hold the value (replicas to 2 successors); Fetch verified (signature + access policy) at the fetcher, sent straight to the responsible peer when an earlier answer named it (route cache)',
  });
  return traced === undefined ? summary : { ...summary, trace: traced };
}
