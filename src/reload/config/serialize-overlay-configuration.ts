import type { KindDefinition } from '../storage/kind.js';
import { CONFIG_BASE_NAMESPACE, CONFIG_CHORD_NAMESPACE } from './overlay-configuration.js';
import type { OverlayConfiguration } from './overlay-configuration.js';
import { registeredKindById } from './registered-kinds.js';

/** XML text escaping (element content and attribute values). */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** A kind element (RFC 6940 §11.1): registered Kinds by name, private ones by id. Exactly these bytes are what a kind-signature covers. */
/** Namespace of p2psip's own configuration extensions. */
export const P2PSIP_CONFIG_NAMESPACE = 'urn:x-p2psip:config-ext';

export function serializeKindElement(k: KindDefinition): string {
  const reg = registeredKindById(k.id);
  const attr = reg !== undefined && reg.name === k.name ? `name="${escapeXml(k.name)}"` : `id="${k.id}"`;
  const parts = [
    `<kind ${attr}>`,
    `<data-model>${k.dataModel.toUpperCase()}</data-model>`,
    `<access-control>${k.accessControl}</access-control>`,
    `<max-count>${k.maxCount}</max-count>`,
    `<max-size>${k.maxSize}</max-size>`,
  ];
  if (k.maxNodeMultiple !== undefined) parts.push(`<max-node-multiple>${k.maxNodeMultiple}</max-node-multiple>`);
  // our extension (RFC 6940 §11.1 allows elements of other namespaces): proxy-peer writes of USER-NODE-MATCH
  if (k.proxyPeerWrites === true) parts.push(`<p2psip:proxy-peer-writes xmlns:p2psip="${P2PSIP_CONFIG_NAMESPACE}">true</p2psip:proxy-peer-writes>`);
  // issue 15: USER-NODE-MATCH with write grants (closed overlays)
  if (k.grantedWrites === true) parts.push(`<p2psip:granted-writes xmlns:p2psip="${P2PSIP_CONFIG_NAMESPACE}">true</p2psip:granted-writes>`);
  parts.push('</kind>');
  return parts.join('');
}

/**
 * The configuration element (RFC 6940 §11.1), deterministic: the same configuration always gives
 * the same bytes (what a signature covers). `kindSignatures[i]`: the SecurityBlock of kind i.
 */
export function serializeConfigurationElement(c: OverlayConfiguration, kindSignatures: readonly (Uint8Array | undefined)[] = []): string {
  const attrs = [`instance-name="${escapeXml(c.instanceName)}"`, `sequence="${c.sequence}"`];
  if (c.expiration !== undefined) attrs.push(`expiration="${escapeXml(c.expiration)}"`);
  const out: string[] = [`<configuration ${attrs.join(' ')}>`];
  const el = (name: string, value: string | number | boolean): void => {
    out.push(`  <${name}>${escapeXml(String(value))}</${name}>`);
  };
  el('topology-plugin', c.topologyPlugin);
  el('node-id-length', c.nodeIdLength);
  for (const r of c.rootCertificates) el('root-cert', b64(r));
  for (const u of c.enrollmentServers) el('enrollment-server', u);
  out.push(`  <self-signed-permitted digest="${c.selfSignedDigest}">${c.selfSignedPermitted}</self-signed-permitted>`);
  for (const b of c.bootstrapNodes) out.push(`  <bootstrap-node address="${escapeXml(b.address)}" port="${b.port}"/>`);
  // issue 15: not an RFC 6940 element (only its drafts had it): in our namespace, which validators skip
  if (c.sipDigestVerifier !== undefined) out.push(`  <p2psip:sip-digest-verifier xmlns:p2psip="${P2PSIP_CONFIG_NAMESPACE}">${escapeXml(c.sipDigestVerifier)}</p2psip:sip-digest-verifier>`);
  for (const b of c.multicastBootstrap ?? []) out.push(`  <p2psip:multicast-bootstrap xmlns:p2psip="${P2PSIP_CONFIG_NAMESPACE}" address="${escapeXml(b.address)}" port="${b.port}"/>`);
  el('turn-density', c.turnDensity);
  el('clients-permitted', c.clientsPermitted);
  el('no-ice', c.noIce);
  if (c.chordUpdateInterval !== undefined) el('chord:chord-update-interval', c.chordUpdateInterval);
  if (c.chordPingInterval !== undefined) el('chord:chord-ping-interval', c.chordPingInterval);
  el('chord:chord-reactive', c.chordReactive);
  if (c.sharedSecret !== undefined) el('shared-secret', c.sharedSecret);
  el('max-message-size', c.maxMessageSize);
  el('initial-ttl', c.initialTtl);
  el('overlay-reliability-timer', c.overlayReliabilityTimer);
  for (const p of c.overlayLinkProtocols) el('overlay-link-protocol', p);
  for (const s of c.configurationSigners) el('configuration-signer', s);
  for (const s of c.kindSigners) el('kind-signer', s);
  for (const s of c.badNodes) el('bad-node', s);
  for (const m of c.mandatoryExtensions) el('mandatory-extension', m);
  if (c.kinds.length > 0) {
    out.push('  <required-kinds>');
    c.kinds.forEach((k, i) => {
      const sig = kindSignatures[i];
      out.push(`    <kind-block>${serializeKindElement(k)}${sig === undefined ? '' : `<kind-signature>${b64(sig)}</kind-signature>`}</kind-block>`);
    });
    out.push('  </required-kinds>');
  }
  out.push('</configuration>');
  return out.join('\n');
}

/** A whole document around configuration elements (each with its optional signature SecurityBlock). */
export function serializeOverlayDocument(configurations: readonly { configurationXml: string; signature?: Uint8Array }[]): string {
  const body = configurations.map((c) => (c.signature === undefined ? c.configurationXml : `${c.configurationXml}\n<signature>${b64(c.signature)}</signature>`));
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<overlay xmlns="${CONFIG_BASE_NAMESPACE}" xmlns:chord="${CONFIG_CHORD_NAMESPACE}">`,
    ...body,
    '</overlay>',
    '',
  ].join('\n');
}

/** An unsigned document with one configuration (RFC 6940 §11.1). */
export function serializeOverlayConfiguration(c: OverlayConfiguration): string {
  return serializeOverlayDocument([{ configurationXml: serializeConfigurationElement(c) }]);
}
