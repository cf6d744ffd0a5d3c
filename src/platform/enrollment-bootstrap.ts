/**
 * How a peer gets its configuration and identity before it joins (RFC 6940 §11): the
 * zero-configuration LAN default with a self-signed identity (§11.3.1), or a configuration
 * document from a file or an https URL (§11.2) and — when the overlay has an enrollment server —
 * a certificate enrolled once and kept in the data directory (§11.3). What `p2psip up` calls.
 */
import { readFile } from 'node:fs/promises';
import { P2psipError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
import { defaultLanConfiguration, parseOverlayConfiguration, trustPolicyOf, verifyOverlayConfiguration } from '../reload/config/index.js';
import type { LanAuthMode, OverlayConfiguration } from '../reload/config/index.js';
import { CertificateStore, createSelfSignedIdentity, selfSignedRuleViolation } from '../reload/security/index.js';
import type { NodeIdentity, NodeKeyAlgorithm, TrustPolicy } from '../reload/security/index.js';
import { enrollNode, fetchOverlayConfiguration } from './enrollment-client.js';
import { loadConfigurationDocument, loadIdentity, loadOrCreateIdentity, narrowDataDir, saveConfigurationDocument, saveIdentity } from './identity-store.js';

/**
 * Key algorithm of a new identity, self-signed or enrolled (an existing one keeps its key). Issue 18:
 * ECDSA P-256 (RFC 6940 §6.3.4 allows it beside the mandatory-to-implement RSA, which every peer still
 * verifies): a signature costs 0.03 ms instead of 0.33 ms, and every RELOAD message is signed.
 */
export const NEW_IDENTITY_KEY_ALGORITHM: NodeKeyAlgorithm = 'ecdsa-p256';

/** An identity closer than this to its notAfter is renewed (re-enrolled or re-made). */
export const RENEW_BEFORE_MS = 24 * 3600 * 1000;

export interface PrepareIdentityOptions {
  dataDir: string;
  overlay: string;
  /** A file path or https URL of the configuration document; absent = the LAN default. */
  config?: string;
  /** PEM trust anchor for the https server and the document's signer (default: the system's CAs). */
  ca?: string;
  /** Account for enrolled overlays (RFC 6940 §11.3). */
  credentials?: { username: string; password: string };
  /** Open or closed zero-configuration overlay (issue 15; default closed); ignored with `config`. */
  lanMode?: LanAuthMode;
  /** User name of a self-signed certificate (default `peer@<overlay>`). */
  userName?: string;
  /** Wall-clock ms since 1970. */
  now: number;
  random: Random;
  algorithm?: NodeKeyAlgorithm;
}

export interface PreparedIdentity {
  config: OverlayConfiguration;
  /** The document as fetched or read (absent for the LAN default). */
  configXml?: string;
  identity: NodeIdentity;
  /** 'created' (new self-signed), 'enrolled' (new certificate from the server) or 'loaded' (from the data directory). */
  source: 'created' | 'enrolled' | 'loaded';
  trust: TrustPolicy;
}

export class IdentitySetupError extends P2psipError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'IdentitySetupError';
  }
}

/** Loads or obtains the configuration and the node identity for joining `o.overlay`. */
export async function prepareOverlayIdentity(o: PrepareIdentityOptions): Promise<PreparedIdentity> {
  await narrowDataDir(o.dataDir);
  const { config, xml } = await loadConfiguration(o);
  if (config.instanceName !== o.overlay) {
    throw new IdentitySetupError('CONFIG', `the configuration document is for overlay ${config.instanceName}, not ${o.overlay}`);
  }
  if (xml !== undefined) await saveConfigurationDocument(o.dataDir, xml);
  const trust = trustPolicyOf(config);
  const store = new CertificateStore(trust, { now: () => o.now });
  const usable = (id: NodeIdentity): boolean =>
    id.certificate.notAfter - RENEW_BEFORE_MS > o.now && store.trustsPeerCertificate(id.certificate.der) === undefined;
  const base = { config, trust, ...(xml === undefined ? {} : { configXml: xml }) };
  const existing = await loadIdentity(o.dataDir, { nodeIdLength: config.nodeIdLength }).catch(() => undefined);
  if (existing !== undefined && usable(existing)) return { ...base, identity: existing, source: 'loaded' };
  if (config.enrollmentServers.length > 0 && o.credentials !== undefined) {
    const identity = await enrollNode({
      config,
      username: o.credentials.username,
      password: o.credentials.password,
      now: o.now,
      ...(o.ca === undefined ? {} : { ca: o.ca }),
      // an enrolled peer's key is its own choice (the CSR carries it; the CA signs either): ECDSA too, as
      // a new self-signed identity (before: RSA-2048, whose signatures cost the Fetch of every call
      // through an enrolled overlay 10 % of the caller's peer's CPU in the SIPp test's profile)
      algorithm: o.algorithm ?? NEW_IDENTITY_KEY_ALGORITHM,
    });
    await saveIdentity(o.dataDir, identity);
    return { ...base, identity, source: 'enrolled' };
  }
  if (!config.selfSignedPermitted) {
    throw new IdentitySetupError(
      'ENROLL_CREDENTIALS',
      config.enrollmentServers.length > 0
        ? `overlay ${config.instanceName} needs enrollment at ${config.enrollmentServers[0]}: give a user name and password`
        : `overlay ${config.instanceName} permits neither self-signed certificates nor enrollment`,
    );
  }
  const { identity, created } = await loadOrCreateIdentity(
    o.dataDir,
    () =>
      createSelfSignedIdentity({
        overlay: config.instanceName,
        userName: o.userName ?? `peer@${config.instanceName}`,
        now: o.now,
        random: o.random,
        digest: config.selfSignedDigest,
        nodeIdLength: config.nodeIdLength,
        // issue 18: a new registration signs three times (value, StoreReq, StoreAns)
        algorithm: o.algorithm ?? NEW_IDENTITY_KEY_ALGORITHM,
      }),
    { nodeIdLength: config.nodeIdLength, accept: (id) => usable(id) && selfSignedRuleViolation(id.certificate, config.selfSignedDigest) === undefined },
  );
  return { ...base, identity, source: created ? 'created' : 'loaded' };
}

async function loadConfiguration(o: PrepareIdentityOptions): Promise<{ config: OverlayConfiguration; xml?: string }> {
  if (o.config === undefined) return { config: defaultLanConfiguration(o.overlay, o.lanMode ?? 'closed') };
  const previousXml = await loadConfigurationDocument(o.dataDir);
  const prevParsed = previousXml === undefined ? undefined : parseOverlayConfiguration(previousXml, { instanceName: o.overlay });
  const previous = prevParsed?.ok === true ? prevParsed.config : undefined;
  if (/^https:\/\//i.test(o.config)) {
    const f = await fetchOverlayConfiguration(o.config, {
      overlay: o.overlay,
      now: o.now,
      ...(o.ca === undefined ? {} : { ca: o.ca }),
      ...(previous === undefined ? {} : { previous }),
    });
    return { config: f.config, xml: f.xml };
  }
  if (/^[a-z]+:\/\//i.test(o.config)) throw new IdentitySetupError('CONFIG', `${o.config}: only https: URLs or files (RFC 6940 §11.2)`);
  let xml: string;
  try {
    xml = await readFile(o.config, 'utf8');
  } catch (e) {
    throw new IdentitySetupError('CONFIG', `cannot read ${o.config}: ${(e as Error).message}`, { cause: e });
  }
  const parsed = parseOverlayConfiguration(xml, { instanceName: o.overlay });
  if (!parsed.ok) throw new IdentitySetupError('CONFIG', `${o.config}: ${parsed.error.message}`, { cause: parsed.error });
  // a local file is the operator's own choice; if it is signed, the signature must still hold
  if (parsed.document.signature !== undefined) {
    const v = verifyOverlayConfiguration(parsed.document, { now: o.now, ...(previous === undefined ? {} : { previous }) });
    if (!v.ok) throw new IdentitySetupError('CONFIG', `${o.config}: ${v.error.message}`, { cause: v.error });
  }
  return { config: parsed.config, xml };
}
