import { createRequire } from 'node:module';
import type { XMLParser } from 'fast-xml-parser';
import { MAX_NODE_ID_LENGTH, MIN_NODE_ID_LENGTH } from '../codec/index.js';
import { canonicalIp } from '../../lib/ip.js';
import type { AccessPolicyName, DataModelName, KindDefinition } from '../storage/kind.js';
import { ConfigDocumentError } from './config-error.js';
import { configurationSegments, kindSegments } from './document-segments.js';
import { DEFAULT_BOOTSTRAP_PORT } from './overlay-configuration.js';
import type { BootstrapNode, OverlayConfiguration } from './overlay-configuration.js';
import { registeredKindById, registeredKindByName, p2psipKindById } from './registered-kinds.js';
import { asObject, attrOf, children, optionalText, parseBase64, parseBoolean, parseInteger, textOf } from './xml-node.js';
import type { XmlObject } from './xml-node.js';

/** Limits on a document from the network. */
export interface ConfigurationLimits {
  /** Characters; default 1 MiB. */
  maxDocumentSize?: number;
  /** Of each repeated element (root-cert, kind-block, bootstrap-node, ...); default 256. */
  maxRepeated?: number;
}

export interface ParseConfigurationOptions extends ConfigurationLimits {
  /** The overlay wanted (RFC 6940 §11.2: its instance-name must match); default the first configuration. */
  instanceName?: string;
}

/** A parsed document: the chosen configuration and the exact signed texts (RFC 6940 §11.1). */
export interface ParsedOverlayDocument {
  config: OverlayConfiguration;
  /** The configuration element's exact text (what its signature covers). */
  configurationXml: string;
  /** The SecurityBlock of the following signature element, base64-decoded. */
  signature?: Uint8Array;
  /** Per kind of `config.kinds`: the kind element's exact text and its kind-signature. */
  kindBlocks: { kindXml: string; signature?: Uint8Array }[];
}

export type ParseConfigurationResult = { ok: true; config: OverlayConfiguration; document: ParsedOverlayDocument } | { ok: false; error: ConfigDocumentError };

export const DEFAULT_MAX_DOCUMENT_SIZE = 1024 * 1024;
export const DEFAULT_MAX_REPEATED = 256;

// fast-xml-parser is loaded when a document is first parsed, not at start: a peer of the default LAN
// overlay (no --config) never reads one, and the parser adds about 1.5 MB of resident memory (1.1 MB of
// V8 heap) to a peer.
// Its CommonJS build, through require(), keeps this function synchronous.
const requireFromHere = createRequire(import.meta.url);
let loadedParser: { parser: XMLParser; validate: (text: string) => true | { err: { msg: string; line: number; col: number } } } | undefined;

function xmlParser(): NonNullable<typeof loadedParser> {
  if (loadedParser !== undefined) return loadedParser;
  let fxp: typeof import('fast-xml-parser');
  try {
    fxp = requireFromHere('fast-xml-parser') as typeof import('fast-xml-parser');
  } catch (e) {
    throw new ConfigDocumentError('CONFIG_INVALID', '', `cannot load the XML parser (fast-xml-parser): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const parser = new fxp.XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    processEntities: true,
    htmlEntities: false,
    isArray: (_name: string, _jpath: unknown, _leaf: boolean, isAttribute: boolean) => !isAttribute,
  });
  loadedParser = { parser, validate: (text) => fxp.XMLValidator.validate(text) };
  return loadedParser;
}

/**
 * Parses an overlay configuration document (RFC 6940 §11.1, schema §11.1.1) into a typed
 * configuration with the RFC's defaults. Never throws: a bad document gives an error naming the
 * element. Signatures are returned for {@link verifyOverlayConfiguration}, not checked here.
 */
export function parseOverlayConfiguration(xml: string, options: ParseConfigurationOptions = {}): ParseConfigurationResult {
  try {
    const document = parseDocument(xml, options);
    return { ok: true, config: document.config, document };
  } catch (e) {
    if (e instanceof ConfigDocumentError) return { ok: false, error: e };
    return { ok: false, error: new ConfigDocumentError('CONFIG_INVALID', '', `internal error: ${String(e)}`, { cause: e }) };
  }
}

function parseDocument(xml: string, options: ParseConfigurationOptions): ParsedOverlayDocument {
  if (typeof xml !== 'string') throw new ConfigDocumentError('CONFIG_INVALID', '', 'not a string');
  const maxSize = options.maxDocumentSize ?? DEFAULT_MAX_DOCUMENT_SIZE;
  if (xml.length > maxSize) throw new ConfigDocumentError('CONFIG_INVALID', '', `document of ${xml.length} characters exceeds ${maxSize}`);
  // no DTDs: no entity expansion from a document that came over the network
  if (/<!DOCTYPE/i.test(xml)) throw new ConfigDocumentError('CONFIG_INVALID', '', 'DOCTYPE declarations are not allowed');
  const { parser, validate } = xmlParser();
  const valid = validate(xml);
  if (valid !== true) throw new ConfigDocumentError('CONFIG_INVALID', '', `not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`);
  const root = asObject(parser.parse(xml));
  const overlays = children(root, 'overlay');
  if (overlays.length !== 1) throw new ConfigDocumentError('CONFIG_INVALID', 'overlay', 'the document element must be overlay');
  const configs = children(asObject(overlays[0]), 'configuration');
  if (configs.length === 0) throw new ConfigDocumentError('CONFIG_INVALID', 'overlay/configuration', 'missing');
  const max = options.maxRepeated ?? DEFAULT_MAX_REPEATED;
  if (configs.length > max) throw new ConfigDocumentError('CONFIG_INVALID', 'overlay/configuration', `more than ${max}`);
  let index = 0;
  if (options.instanceName !== undefined) {
    index = configs.findIndex((c) => attrOf(c, 'instance-name') === options.instanceName);
    if (index < 0) throw new ConfigDocumentError('CONFIG_INVALID', 'overlay/configuration', `no configuration for instance-name ${options.instanceName}`);
  }
  const path = `configuration[${index + 1}]`;
  const config = readConfiguration(asObject(configs[index]), path, max);
  const segment = configurationSegments(xml)[index];
  if (segment === undefined) throw new ConfigDocumentError('CONFIG_INVALID', path, 'cannot locate the element text');
  const kinds = kindSegments(segment.xml);
  const doc: ParsedOverlayDocument = {
    config,
    configurationXml: segment.xml,
    kindBlocks: config.kinds.map((_, i) => {
      const k = kinds[i];
      const block: { kindXml: string; signature?: Uint8Array } = { kindXml: k?.xml ?? '' };
      if (k?.signature !== undefined) block.signature = parseBase64(k.signature, `${path}/required-kinds/kind-block[${i + 1}]/kind-signature`);
      return block;
    }),
  };
  if (segment.signature !== undefined) doc.signature = parseBase64(segment.signature, `overlay/signature (after ${path})`);
  return doc;
}

function readConfiguration(c: XmlObject, path: string, max: number): OverlayConfiguration {
  const many = (name: string): unknown[] => {
    const list = children(c, name);
    if (list.length > max) throw new ConfigDocumentError('CONFIG_INVALID', `${path}/${name}`, `more than ${max}`);
    return list;
  };
  const texts = (name: string): string[] => many(name).map((v, i) => textOf(v, `${path}/${name}[${i + 1}]`));
  const int = (name: string, min: number, maxValue: number, dflt: number): number => {
    const t = optionalText(c, name, path);
    return t === undefined ? dflt : parseInteger(t, `${path}/${name}`, min, maxValue);
  };
  const bool = (name: string, dflt: boolean): boolean => {
    const t = optionalText(c, name, path);
    return t === undefined ? dflt : parseBoolean(t, `${path}/${name}`);
  };
  const instanceName = attrOf(c, 'instance-name');
  if (instanceName === undefined || instanceName.trim() === '') throw new ConfigDocumentError('CONFIG_INVALID', `${path}/@instance-name`, 'missing');
  const seqText = attrOf(c, 'sequence');
  const expiration = attrOf(c, 'expiration');
  if (expiration !== undefined && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(expiration.trim())) {
    throw new ConfigDocumentError('CONFIG_INVALID', `${path}/@expiration`, `${JSON.stringify(expiration)} is not an RFC 3339 date-time`);
  }
  const ssp = many('self-signed-permitted');
  if (ssp.length > 1) throw new ConfigDocumentError('CONFIG_INVALID', `${path}/self-signed-permitted`, 'may appear only once');
  let selfSignedPermitted = false;
  let selfSignedDigest: 'sha1' | 'sha256' = 'sha256';
  if (ssp.length === 1) {
    selfSignedPermitted = parseBoolean(textOf(ssp[0], `${path}/self-signed-permitted`), `${path}/self-signed-permitted`);
    const d = (attrOf(ssp[0], 'digest') ?? 'sha256').trim();
    if (d !== 'sha1' && d !== 'sha256') throw new ConfigDocumentError('CONFIG_INVALID', `${path}/self-signed-permitted/@digest`, `unsupported digest ${JSON.stringify(d)} (sha1, sha256)`);
    selfSignedDigest = d;
  }
  const enrollmentServers = texts('enrollment-server');
  enrollmentServers.forEach((u, i) => {
    if (!/^https:\/\/[^\s]+$/i.test(u)) throw new ConfigDocumentError('CONFIG_INVALID', `${path}/enrollment-server[${i + 1}]`, `${JSON.stringify(u)} is not an https: URL`);
  });
  const hexIds = (name: string): string[] =>
    texts(name).map((t, i) => {
      if (!/^[0-9a-fA-F]{2,40}$/.test(t) || t.length % 2 !== 0) throw new ConfigDocumentError('CONFIG_INVALID', `${path}/${name}[${i + 1}]`, `${JSON.stringify(t)} is not a hex Node-ID`);
      return t.toLowerCase();
    });
  const linkProtocols = texts('overlay-link-protocol');
  const config: OverlayConfiguration = {
    instanceName: instanceName.trim(),
    sequence: seqText === undefined ? 0 : parseInteger(seqText.trim(), `${path}/@sequence`, 0, 65534),
    topologyPlugin: optionalText(c, 'topology-plugin', path) ?? 'CHORD-RELOAD',
    nodeIdLength: int('node-id-length', MIN_NODE_ID_LENGTH, MAX_NODE_ID_LENGTH, 16),
    rootCertificates: many('root-cert').map((v, i) => parseBase64(textOf(v, `${path}/root-cert[${i + 1}]`), `${path}/root-cert[${i + 1}]`)),
    enrollmentServers,
    selfSignedPermitted,
    selfSignedDigest,
    bootstrapNodes: many('bootstrap-node').map((v, i) => bootstrapNode(v, `${path}/bootstrap-node[${i + 1}]`)),
    turnDensity: int('turn-density', 0, 255, 1),
    clientsPermitted: bool('clients-permitted', true),
    noIce: bool('no-ice', false),
    maxMessageSize: int('max-message-size', 1, 0xffffffff, 5000),
    initialTtl: int('initial-ttl', 1, 255, 100),
    overlayReliabilityTimer: int('overlay-reliability-timer', 200, 0x7fffffff, 3000),
    overlayLinkProtocols: linkProtocols.length === 0 ? ['TLS'] : linkProtocols,
    configurationSigners: hexIds('configuration-signer'),
    kindSigners: hexIds('kind-signer'),
    badNodes: hexIds('bad-node'),
    mandatoryExtensions: texts('mandatory-extension'),
    kinds: [],
    chordReactive: bool('chord-reactive', true),
  };
  if (expiration !== undefined) config.expiration = expiration.trim();
  // issue 15: multicast-bootstrap (draft-ietf-p2psip-base), in our extension namespace or the base one
  const mcast = many('multicast-bootstrap').map((v, i) => bootstrapNode(v, `${path}/multicast-bootstrap[${i + 1}]`));
  if (mcast.length > 0) config.multicastBootstrap = mcast;
  // issue 15: where the enrollment server checks SIP digest answers (our extension element)
  const digestUrl = optionalText(c, 'sip-digest-verifier', path);
  if (digestUrl !== undefined) {
    if (!/^https:\/\/[^\s]+$/i.test(digestUrl)) throw new ConfigDocumentError('CONFIG_INVALID', `${path}/sip-digest-verifier`, `${JSON.stringify(digestUrl)} is not an https: URL`);
    config.sipDigestVerifier = digestUrl;
  }
  const secret = optionalText(c, 'shared-secret', path);
  if (secret !== undefined) config.sharedSecret = secret;
  const upd = optionalText(c, 'chord-update-interval', path);
  if (upd !== undefined) config.chordUpdateInterval = parseInteger(upd, `${path}/chord:chord-update-interval`, 1, 0x7fffffff);
  const ping = optionalText(c, 'chord-ping-interval', path);
  if (ping !== undefined) config.chordPingInterval = parseInteger(ping, `${path}/chord:chord-ping-interval`, 1, 0x7fffffff);
  const rk = many('required-kinds');
  if (rk.length > 1) throw new ConfigDocumentError('CONFIG_INVALID', `${path}/required-kinds`, 'may appear only once');
  if (rk.length === 1) {
    const blocks = children(asObject(rk[0]), 'kind-block');
    if (blocks.length > max) throw new ConfigDocumentError('CONFIG_INVALID', `${path}/required-kinds/kind-block`, `more than ${max}`);
    const seen = new Set<number>();
    blocks.forEach((b, i) => {
      const kp = `${path}/required-kinds/kind-block[${i + 1}]/kind`;
      const kinds = children(asObject(b), 'kind');
      if (kinds.length !== 1) throw new ConfigDocumentError('CONFIG_INVALID', kp, 'a kind-block holds exactly one kind');
      const k = readKind(asObject(kinds[0]), kp);
      if (seen.has(k.id)) throw new ConfigDocumentError('CONFIG_INVALID', kp, `Kind-ID ${k.id} defined twice`);
      seen.add(k.id);
      config.kinds.push(k);
    });
  }
  return config;
}

function bootstrapNode(v: unknown, path: string): BootstrapNode {
  const address = attrOf(v, 'address')?.trim();
  if (address === undefined) throw new ConfigDocumentError('CONFIG_INVALID', `${path}/@address`, 'missing');
  const canonical = canonicalIp(address);
  if (canonical === undefined) throw new ConfigDocumentError('CONFIG_INVALID', `${path}/@address`, `${JSON.stringify(address)} is not an IP address`);
  const portText = attrOf(v, 'port');
  const port = portText === undefined ? DEFAULT_BOOTSTRAP_PORT : parseInteger(portText.trim(), `${path}/@port`, 1, 65535);
  return { address: canonical, port };
}

const MODELS: Record<string, DataModelName> = { SINGLE: 'single', ARRAY: 'array', DICTIONARY: 'dictionary' };
const POLICIES: readonly AccessPolicyName[] = ['USER-MATCH', 'NODE-MATCH', 'USER-NODE-MATCH', 'NODE-MULTIPLE', 'USAGE-GUARD'];

function readKind(k: XmlObject, path: string): KindDefinition {
  const name = attrOf(k, 'name')?.trim();
  const idText = attrOf(k, 'id')?.trim();
  if ((name === undefined) === (idText === undefined)) throw new ConfigDocumentError('CONFIG_INVALID', path, 'needs exactly one of the attributes name and id');
  const required = (el: string): string => {
    const t = optionalText(k, el, path);
    if (t === undefined) throw new ConfigDocumentError('CONFIG_INVALID', `${path}/${el}`, 'missing');
    return t;
  };
  const modelText = required('data-model');
  const dataModel = MODELS[modelText.toUpperCase()];
  if (dataModel === undefined) throw new ConfigDocumentError('CONFIG_INVALID', `${path}/data-model`, `unknown data model ${JSON.stringify(modelText)}`);
  const policyText = required('access-control');
  const accessControl = POLICIES.find((p) => p === policyText.toUpperCase());
  if (accessControl === undefined) throw new ConfigDocumentError('CONFIG_INVALID', `${path}/access-control`, `unknown access control policy ${JSON.stringify(policyText)}`);
  const maxCount = parseInteger(required('max-count'), `${path}/max-count`, 1, 0x7fffffff);
  const maxSize = parseInteger(required('max-size'), `${path}/max-size`, 1, 0x7fffffff);
  const mnmText = optionalText(k, 'max-node-multiple', path);
  let def: KindDefinition;
  if (name !== undefined) {
    const reg = registeredKindByName(name);
    if (reg === undefined) throw new ConfigDocumentError('CONFIG_INVALID', `${path}/@name`, `${JSON.stringify(name)} is not a registered Kind name (use id for private Kinds)`);
    // RFC 6940 §11.1: for registered Kinds the registration's data model and policy win
    def = { id: reg.id, name: reg.name, dataModel: reg.dataModel, accessControl: reg.accessControl, maxCount, maxSize };
    const mnm = mnmText === undefined ? reg.maxNodeMultiple : parseInteger(mnmText, `${path}/max-node-multiple`, 1, 0x7fffffff);
    if (mnm !== undefined && reg.accessControl === 'NODE-MULTIPLE') def.maxNodeMultiple = mnm;
  } else {
    const id = parseInteger(idText!, `${path}/@id`, 1, 0xfffffffe);
    // p2psip's own Kinds (issue 15) keep their model, policy and privacy whatever the document says
    const reg = registeredKindById(id) ?? p2psipKindById(id);
    def = reg === undefined ? { id, name: `kind-${id}`, dataModel, accessControl, maxCount, maxSize } : { id, name: reg.name, dataModel: reg.dataModel, accessControl: reg.accessControl, maxCount, maxSize };
    if (p2psipKindById(id)?.private === true) def.private = true;
    if (p2psipKindById(id)?.allReplicasFirst === true) def.allReplicasFirst = true;
    const policy = def.accessControl;
    if (policy === 'NODE-MULTIPLE') {
      const mnm = mnmText === undefined ? reg?.maxNodeMultiple : parseInteger(mnmText, `${path}/max-node-multiple`, 1, 0x7fffffff);
      if (mnm === undefined) throw new ConfigDocumentError('CONFIG_INVALID', `${path}/max-node-multiple`, 'required with NODE-MULTIPLE');
      def.maxNodeMultiple = mnm;
    }
  }
  const proxy = optionalText(k, 'proxy-peer-writes', path);
  if (proxy !== undefined) {
    if (proxy !== 'true' && proxy !== 'false') throw new ConfigDocumentError('CONFIG_INVALID', `${path}/proxy-peer-writes`, 'true or false');
    if (proxy === 'true') {
      if (def.accessControl !== 'USER-NODE-MATCH') throw new ConfigDocumentError('CONFIG_INVALID', `${path}/proxy-peer-writes`, 'only with USER-NODE-MATCH');
      def.proxyPeerWrites = true;
    }
  }
  const granted = optionalText(k, 'granted-writes', path);
  if (granted !== undefined) {
    if (granted !== 'true' && granted !== 'false') throw new ConfigDocumentError('CONFIG_INVALID', `${path}/granted-writes`, 'true or false');
    if (granted === 'true') {
      if (def.accessControl !== 'USER-NODE-MATCH') throw new ConfigDocumentError('CONFIG_INVALID', `${path}/granted-writes`, 'only with USER-NODE-MATCH');
      if (def.proxyPeerWrites === true) throw new ConfigDocumentError('CONFIG_INVALID', `${path}/granted-writes`, 'not with proxy-peer-writes');
      def.grantedWrites = true;
    }
  }
  if (def.accessControl === 'USER-NODE-MATCH' && def.dataModel !== 'dictionary') {
    throw new ConfigDocumentError('CONFIG_INVALID', `${path}/access-control`, 'USER-NODE-MATCH is only for dictionary Kinds (RFC 6940 §7.3.3)');
  }
  return def;
}
