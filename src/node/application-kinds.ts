/**
 * Application Kinds (issue 17, the library API): Kinds an application embedding p2psip stores its own
 * data under, added to the overlay configuration's required Kinds (RFC 6940 §11.1 `<required-kinds>`).
 *
 * Every peer of an overlay must know a Kind to store it (a responsible peer without it answers
 * Error_Unknown_Kind, RFC 6940 §7.4.1.2), so the Kinds are part of the overlay's configuration:
 * - the zero-configuration overlay: the Kinds are appended to its configuration; they change its
 *   document and fingerprint, so peers started with other Kinds (or none, as `p2psip up`) are another
 *   overlay for LAN discovery and the digest nonce key — start every peer with the same list;
 * - a configuration document (`--config`): the document decides; each application Kind must be
 *   declared there with the same id, data model and policy (the document's max-count and max-size apply).
 */
import { P2PSIP_KINDS, REGISTERED_KINDS, type OverlayConfiguration } from '../reload/config/index.js';
import type { KindDefinition } from '../reload/storage/index.js';
import { ConfigError } from './peer-config.js';

/** Lowest Kind-ID an application may use: RFC 6940 §14.6 private use starts at 0xf0000000; p2psip keeps 0xf0000000–0xf0000fff for its own Kinds. */
export const MIN_APPLICATION_KIND_ID = 0xf0001000;
/** Highest Kind-ID of the private-use range (RFC 6940 §14.6; 0xffffffff is reserved). */
export const MAX_APPLICATION_KIND_ID = 0xfffffffe;
/** Application Kinds one overlay configuration may carry. */
export const MAX_APPLICATION_KINDS = 16;
/** Values of one application Kind at one Resource-ID at most (its max-count). */
export const MAX_APPLICATION_KIND_COUNT = 1_000;
/** Application Kind names: a letter, then letters, digits, '-' or '_'; at most 64 characters. */
const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const POLICIES = new Set(['USER-MATCH', 'NODE-MATCH', 'USER-NODE-MATCH', 'NODE-MULTIPLE']);
const MODELS = new Set(['single', 'array', 'dictionary']);

/** Why `k` cannot be an application Kind of `config`, or undefined. */
export function applicationKindProblem(k: KindDefinition, config: Pick<OverlayConfiguration, 'maxMessageSize'>): string | undefined {
  const hexId = Number.isInteger(k.id) ? `0x${k.id.toString(16)}` : String(k.id);
  if (!Number.isInteger(k.id) || k.id < MIN_APPLICATION_KIND_ID || k.id > MAX_APPLICATION_KIND_ID) {
    return `Kind ${hexId}: an application Kind-ID is from 0x${MIN_APPLICATION_KIND_ID.toString(16)} to 0x${MAX_APPLICATION_KIND_ID.toString(16)} (private use, RFC 6940 §14.6)`;
  }
  if (typeof k.name !== 'string' || !NAME.test(k.name)) return `Kind ${hexId}: the name must be a letter then up to 63 letters, digits, '-' or '_'`;
  if (!MODELS.has(k.dataModel)) return `Kind ${k.name}: data model must be single, array or dictionary`;
  if (!POLICIES.has(k.accessControl)) return `Kind ${k.name}: access control must be USER-MATCH, NODE-MATCH, USER-NODE-MATCH or NODE-MULTIPLE`;
  if (k.accessControl === 'USER-NODE-MATCH' && k.dataModel !== 'dictionary') return `Kind ${k.name}: USER-NODE-MATCH is for dictionary Kinds only (RFC 6940 §7.3.3)`;
  if (k.proxyPeerWrites === true && k.accessControl !== 'USER-NODE-MATCH') return `Kind ${k.name}: any-resource writes (proxy-peer-writes) need USER-NODE-MATCH`;
  if (k.grantedWrites === true || k.private === true) return `Kind ${k.name}: granted writes and private Kinds are p2psip's own`;
  if (k.accessControl === 'NODE-MULTIPLE' && (!Number.isInteger(k.maxNodeMultiple) || (k.maxNodeMultiple ?? 0) < 1 || (k.maxNodeMultiple ?? 0) > 255)) {
    return `Kind ${k.name}: NODE-MULTIPLE needs maxNodeMultiple from 1 to 255`;
  }
  const maxCount = k.dataModel === 'single' ? 1 : MAX_APPLICATION_KIND_COUNT;
  if (!Number.isInteger(k.maxCount) || k.maxCount < 1 || k.maxCount > maxCount) return `Kind ${k.name}: maxCount must be from 1 to ${maxCount}`;
  if (!Number.isInteger(k.maxSize) || k.maxSize < 1 || k.maxSize > config.maxMessageSize) return `Kind ${k.name}: maxSize must be from 1 to ${config.maxMessageSize} bytes (the overlay's max-message-size)`;
  return undefined;
}

/**
 * The configuration with the application Kinds: appended to the zero-configuration overlay's
 * Kinds, or — with a configuration document (`fromDocument`) — checked against the document's.
 * Throws {@link ConfigError} naming the first problem.
 */
export function withApplicationKinds(config: OverlayConfiguration, kinds: readonly KindDefinition[], fromDocument: boolean): OverlayConfiguration {
  if (kinds.length === 0) return config;
  if (kinds.length > MAX_APPLICATION_KINDS) throw new ConfigError(`at most ${MAX_APPLICATION_KINDS} application Kinds`);
  const ids = new Set<number>();
  const names = new Set<string>();
  for (const k of kinds) {
    const bad = applicationKindProblem(k, config);
    if (bad !== undefined) throw new ConfigError(bad);
    if (ids.has(k.id) || names.has(k.name.toUpperCase())) throw new ConfigError(`Kind ${k.name} (0x${k.id.toString(16)}): declared twice`);
    ids.add(k.id);
    names.add(k.name.toUpperCase());
  }
  if (fromDocument) {
    for (const k of kinds) {
      const d = config.kinds.find((x) => x.id === k.id);
      if (d === undefined) throw new ConfigError(`Kind ${k.name} (0x${k.id.toString(16)}) is not in the overlay's configuration document: declare it there (<kind id="${k.id}">)`);
      if (d.dataModel !== k.dataModel || d.accessControl !== k.accessControl || (d.proxyPeerWrites === true) !== (k.proxyPeerWrites === true)) {
        throw new ConfigError(`Kind ${k.name} (0x${k.id.toString(16)}): the configuration document declares it ${d.dataModel} ${d.accessControl}${d.proxyPeerWrites === true ? ' with proxy-peer-writes' : ''}`);
      }
    }
    return config;
  }
  const taken = [...config.kinds, ...REGISTERED_KINDS, ...P2PSIP_KINDS];
  for (const k of kinds) {
    if (taken.some((x) => x.id === k.id || x.name.toUpperCase() === k.name.toUpperCase())) throw new ConfigError(`Kind ${k.name} (0x${k.id.toString(16)}): the id or name is already the overlay's`);
  }
  return { ...config, kinds: [...config.kinds, ...kinds.map((k) => ({ ...k }))] };
}
