/**
 * The SIP usage on one peer (RFC 7904), assembled: the AppAttach answerer (application 5060), the
 * locator (Node-ID → SIP front, cached) and the overlay location service wrapping the peer's own
 * bindings. The node layer gives it the overlay and the SIP front's addresses.
 */
import type { Clock } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import { MessageCode } from '../../reload/codec/index.js';
import type { RequestHandler } from '../../reload/overlay/overlay-types.js';
import type { LocationService } from '../../sip/core/location-service.js';
import type { TransportAddress } from '../../sip/transport/types.js';
import { appAttachHandler } from './app-attach-handler.js';
import { OverlayLocationService, type OverlayLocationOptions } from './overlay-location-service.js';
import type { RegistrationDirectory } from './registration-directory.js';
import { SipPeerLocator, type OverlayRequest, type SipPeerLocatorOptions } from './sip-peer-locator.js';

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
  /** The peer's own bindings. */
  inner: LocationService;
  overlayName: string;
  /** The SIP front's reachable addresses (wildcards replaced by the advertised host). */
  sipAddresses: () => readonly TransportAddress[];
  logger?: { warn(obj: object, msg: string): void };
}

export interface SipUsageOptions {
  locator?: Partial<SipPeerLocatorOptions>;
  location?: Partial<OverlayLocationOptions>;
}

export class SipUsage {
  readonly locator: SipPeerLocator;
  readonly location: OverlayLocationService;

  constructor(deps: SipUsageDeps, options: SipUsageOptions = {}) {
    this.locator = new SipPeerLocator(
      { clock: deps.clock, random: deps.random, request: (d, c, b, o) => deps.overlay.request(d, c, b, o), sipAddresses: deps.sipAddresses },
      options.locator,
    );
    this.location = new OverlayLocationService(
      {
        clock: deps.clock,
        inner: deps.inner,
        directory: deps.directory,
        locate: (id) => this.locator.locate(id),
        overlayName: deps.overlayName,
        selfNodeId: deps.overlay.idBytes,
        ...(deps.logger === undefined ? {} : { logger: deps.logger }),
      },
      options.location,
    );
    deps.overlay.handle(MessageCode.app_attach_req, appAttachHandler({ random: deps.random, sipAddresses: deps.sipAddresses }));
  }

  /** Clean shutdown: our registrations leave the overlay (before the overlay Leave). */
  shutdown(): Promise<void> {
    return this.location.withdrawAll();
  }
}
