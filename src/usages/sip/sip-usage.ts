/**
 * The SIP usage on one peer (RFC 7904), assembled: the AppAttach answerer (application 5060), the
 * locator (Node-ID → SIP front, cached) and the overlay location service wrapping the peer's own
 * bindings. The node layer gives it the overlay and the SIP front's addresses.
 */
import type { Clock } from '../../lib/clock.js';
import { PeriodicTask, type Lifecycle } from '../../lib/lifecycle.js';
import type { Random } from '../../lib/random.js';
import { MessageCode } from '../../reload/codec/index.js';
import type { RequestHandler } from '../../reload/overlay/overlay-types.js';
import type { RecordStore } from '../../lib/record-store.js';
import { aorProblem } from '../../sip/core/aor-validation.js';
import type { StagedLocationService } from '../../sip/core/location-service.js';
import type { TransportAddress } from '../../sip/transport/sip-transport.js';
import { aorResourceId } from './aor-resource-id.js';
import { appAttachHandler } from './app-attach-handler.js';
import { OverlayLocationService, type OverlayLocationOptions } from './overlay-location-service.js';
import type { RegistrationDirectory } from './registration-directory.js';
import type { SipChannels } from './sip-channels.js';
import { SipPeerLocator, type OverlayRequest, type SipPeerLocatorOptions } from './sip-peer-locator.js';
import type { RingMergeSource } from './registration-publisher.js';
import type { StaticRegistration } from './parse-static-registration.js';
import { SipUsageError } from './sip-usage-error.js';
import { StaticRegistrations, type StaticRegistrationsOptions } from './static-registrations.js';

/** The overlay node as the usage uses it (OverlayNode fits). */
export interface SipUsageOverlay {
  readonly idBytes: Uint8Array;
  request: OverlayRequest;
  handle(code: number, handler: RequestHandler): void;
}

export interface SipUsageDeps {
  clock: Clock;
  random: Random;
  overlay: SipUsageOverlay;
  directory: RegistrationDirectory;
  /** The peer's own bindings (restored after a restart before start()). */
  inner: StagedLocationService;
  overlayName: string;
  /** The AoRs we hold an entry for in the overlay, kept across restarts (see RegistrationPublisher). */
  marks?: RecordStore;
  /** Wall-clock ms for `marks` (default: the clock's own scale). */
  wallClock?: () => number;
  /** The SIP front's reachable addresses (wildcards replaced by the advertised host). */
  sipAddresses: () => readonly TransportAddress[];
  /** SIP channels to other peers (ICE + DTLS over the overlay UDP port), when the peer runs ICE. */
  channels?: SipChannels;
  logger?: { warn(obj: object, msg: string): void };
  /** Rings merged or a lone peer joined (issue 15): our phones' registrations are stored again. */
  ringMerges?: RingMergeSource;
}

export interface SipUsageOptions {
  locator?: Partial<SipPeerLocatorOptions>;
  location?: Partial<OverlayLocationOptions>;
  /** Static registrations (already parsed and checked, see parseStaticRegistration). */
  statics?: readonly StaticRegistration[];
  staticOptions?: Partial<StaticRegistrationsOptions>;
  /** Closed overlays (issue 15): what earns the right to Store a static AoR (StaticRegistrationsDeps.authorize). */
  authorizeStatic?: (aor: string) => Promise<void>;
  /** Period of the sweep of expired located peers and cached registrations (default 30 s). */
  sweepIntervalMs?: number;
}

/** What {@link SipUsage.describe} reports about an AoR. */
export interface AorReport {
  aor: string;
  /** Hex Resource-ID (SHA-1 of `user@domain`, 128 bits). */
  resourceId: string;
  registrations: Array<{ nodeId: string; type: 'route' | 'uri' | 'unknown'; sip?: string; uri?: string; error?: string }>;
}

export class SipUsage implements Lifecycle {
  readonly locator: SipPeerLocator;
  readonly location: OverlayLocationService;
  readonly statics: StaticRegistrations;
  private readonly directory: RegistrationDirectory;
  private readonly sweeper: PeriodicTask;

  constructor(deps: SipUsageDeps, options: SipUsageOptions = {}) {
    this.directory = deps.directory;
    this.statics = new StaticRegistrations(
      {
        clock: deps.clock,
        directory: deps.directory,
        selfNodeId: deps.overlay.idBytes,
        ...(deps.logger === undefined ? {} : { logger: deps.logger }),
        ...(options.authorizeStatic === undefined ? {} : { authorize: options.authorizeStatic }),
      },
      options.statics ?? [],
      options.staticOptions,
    );
    this.locator = new SipPeerLocator(
      { clock: deps.clock, random: deps.random, request: (d, c, b, o) => deps.overlay.request(d, c, b, o), sipAddresses: deps.sipAddresses, ...(deps.channels === undefined ? {} : { channels: deps.channels }) },
      options.locator,
    );
    // a closed channel leaves no stale address behind: the next request AppAttaches again
    deps.channels?.onClosed((hex) => this.locator.forget(Buffer.from(hex, 'hex')));
    this.location = new OverlayLocationService(
      {
        clock: deps.clock,
        inner: deps.inner,
        directory: deps.directory,
        locate: (id) => this.locator.locate(id),
        overlayName: deps.overlayName,
        selfNodeId: deps.overlay.idBytes,
        statics: this.statics,
        ...(deps.marks === undefined ? {} : { marks: deps.marks }),
        ...(deps.wallClock === undefined ? {} : { wallClock: deps.wallClock }),
        ...(deps.logger === undefined ? {} : { logger: deps.logger }),
        ...(deps.channels === undefined ? {} : { channelPeerAt: (a: TransportAddress) => deps.channels!.peerAt(a) }),
        ...(deps.ringMerges === undefined ? {} : { ringMerges: deps.ringMerges }),
      },
      options.location,
    );
    deps.overlay.handle(MessageCode.app_attach_req, appAttachHandler({ random: deps.random, sipAddresses: deps.sipAddresses, ...(deps.channels === undefined ? {} : { channels: deps.channels }) }));
    this.sweeper = new PeriodicTask(deps.clock, options.sweepIntervalMs ?? 30_000, () => {
      this.location.sweep();
      this.locator.sweep();
    });
  }

  /**
   * Where the overlay says an AoR can be reached (`p2psip lookup`, /api): its Resource-ID, every
   * stored registration and, for routes, the registered peer's SIP front (by AppAttach, cached).
   */
  async describe(aor: string): Promise<AorReport> {
    const bad = aorProblem(aor);
    if (bad !== undefined) throw new SipUsageError('bad-aor', bad);
    const resourceId = Buffer.from(aorResourceId(aor)).toString('hex');
    const entries = await this.directory.lookup(aor);
    const registrations = await Promise.all(
      entries.map(async (e): Promise<AorReport['registrations'][number]> => {
        const nodeId = Buffer.from(e.nodeId).toString('hex');
        if (e.value.type === 'uri') return { nodeId, type: 'uri', uri: new TextDecoder().decode(e.value.uri) };
        if (e.value.type !== 'route') return { nodeId, type: 'unknown' };
        const last = [...e.value.destinationList].reverse().find((d) => d.type === 'node');
        const target = last?.type === 'node' ? last.nodeId : e.nodeId;
        const r = await this.locator.locate(target);
        return r.ok
          ? { nodeId, type: 'route', sip: `${r.address.protocol}:${r.address.host}:${r.address.port}` }
          : { nodeId, type: 'route', error: r.info };
      }),
    );
    return { aor, resourceId, registrations };
  }

  /**
   * Starts what the usage keeps in the overlay by itself — static registrations' Stores, the
   * phones' AoRs restored after a restart (stored afresh; entries left without bindings withdrawn) —
   * and its periodic sweep.
   */
  start(): void {
    this.statics.start();
    this.location.restore();
    this.sweeper.start();
  }

  /**
   * Clean stop: the sweep ends; our registrations, static ones too, leave the overlay (before the
   * overlay Leave). With `until` (clock ms) no phone registration's withdraw starts at or after it.
   */
  async stop(until?: number): Promise<void> {
    this.sweeper.stop();
    await Promise.all([this.location.withdrawAll(until), this.statics.withdrawAll()]);
  }
}
