/**
 * The overlay side of a real peer: identity (self-signed or enrolled, kept in the data
 * directory), mutual-TLS links (TLS-TCP-FH-NO-ICE), the RELOAD node with CHORD-RELOAD, message
 * signatures checked against the configuration's trust.
 */
import { CryptoRandom } from '../platform/crypto-random.js';
import { prepareOverlayIdentity } from '../platform/enrollment-bootstrap.js';
import type { PreparedIdentity } from '../platform/enrollment-bootstrap.js';
import { SystemClock } from '../platform/system-clock.js';
import { TlsLinkDriver } from '../platform/tls-link-driver.js';
import { LinkLayer } from '../reload/link/index.js';
import type { LinkEndpoint } from '../reload/link/index.js';
import { OverlayNode } from '../reload/overlay/overlay-node.js';
import type { OverlayOptions, OverlayState } from '../reload/overlay/overlay-types.js';
import { CertificateSecurity, CertificateStore, certificateToPem, privateKeyToPem } from '../reload/security/index.js';
import type { OverlayConfiguration } from '../reload/config/index.js';
import type { HostPort } from './peer-config.js';

export interface OverlayServiceConfig {
  overlay: string;
  listen: HostPort;
  bootstrap: HostPort[];
  dataDir: string;
  client: boolean;
  /** Configuration document (file or https URL); absent = the zero-configuration LAN default. */
  configSource?: string;
  /** PEM trust anchor for an https configuration/enrollment server. */
  configCa?: string;
  credentials?: { username: string; password: string };
  /** Address put in our Attach candidates when listening on a wildcard. */
  advertiseHost?: string;
  /** Overrides of the overlay's timers (tests). */
  overlayOptions?: Partial<OverlayOptions>;
  onState?: (s: OverlayState) => void;
}

export interface RunningOverlay {
  node: OverlayNode;
  links: LinkLayer;
  config: OverlayConfiguration;
  prepared: PreparedIdentity;
  listen: LinkEndpoint | undefined;
  /** Clean Leave (RFC 6940 §10.9), then links closed. */
  leave(): Promise<void>;
}

export async function startOverlay(c: OverlayServiceConfig): Promise<RunningOverlay> {
  const random = new CryptoRandom();
  const clock = new SystemClock();
  const prepared = await prepareOverlayIdentity({
    dataDir: c.dataDir,
    overlay: c.overlay,
    now: Date.now(),
    random,
    ...(c.configSource === undefined ? {} : { config: c.configSource }),
    ...(c.configCa === undefined ? {} : { ca: c.configCa }),
    ...(c.credentials === undefined ? {} : { credentials: c.credentials }),
  });
  const config = prepared.config;
  if (c.client && !config.clientsPermitted) throw new Error(`overlay ${config.instanceName} does not permit clients`);
  const store = new CertificateStore(prepared.trust, { now: () => Date.now() });
  const identity = prepared.identity;
  const driver = new TlsLinkDriver({
    cert: certificateToPem(identity.certificate.der),
    key: privateKeyToPem(identity.keys.privateKey),
    // RFC 6940 §13.3: links accept only certificates the configuration trusts
    verifyPeer: (der) => store.trustsPeerCertificate(der),
  });
  const links = new LinkLayer({ driver, clock, random }, { maxMessageSize: config.maxMessageSize, minRtoMs: 200 });
  const nodeId = identity.certificate.nodeIds[0];
  if (nodeId === undefined) throw new Error('our certificate carries no Node-ID');
  const node = new OverlayNode(
    { clock, random, links, security: new CertificateSecurity(identity, store), ...(c.onState ? { events: { onState: c.onState } } : {}) },
    nodeId,
    {
      overlayName: config.instanceName,
      nodeIdLength: config.nodeIdLength,
      maxMessageSize: config.maxMessageSize,
      initialTtl: config.initialTtl,
      client: c.client,
      reactive: config.chordReactive,
      ...(config.chordUpdateInterval === undefined ? {} : { updateIntervalMs: config.chordUpdateInterval * 1000 }),
      ...(config.chordPingInterval === undefined ? {} : { fingerRefreshIntervalMs: config.chordPingInterval * 1000 }),
      ...c.overlayOptions,
    },
  );
  const bootstrap: LinkEndpoint[] = c.bootstrap.length > 0 ? c.bootstrap : config.bootstrapNodes.map((b) => ({ host: b.address, port: b.port }));
  const advertise = c.advertiseHost === undefined ? undefined : { host: c.advertiseHost, port: 0 };
  try {
    await node.start(c.listen, bootstrap.filter((b) => !(b.port === c.listen.port && (b.host === c.listen.host || c.listen.port === 0))), advertise);
  } catch (e) {
    await node.shutdown().catch(() => undefined);
    throw e;
  }
  return {
    node,
    links,
    config,
    prepared,
    listen: node.endpoint(),
    leave: () => node.leave(),
  };
}
