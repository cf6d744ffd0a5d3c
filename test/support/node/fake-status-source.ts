/**
 * A StatusSource for the HTTP API with no overlay and no sockets: a real SipPeer over the in-memory
 * SIP driver, holding `aors` made-up registrations (tests of the status API, the HTTP fuzzer).
 */
import type { Clock } from '../../../src/lib/clock.js';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { SipPeer } from '../../../src/node/sip-peer.js';
import type { StatusSource } from '../../../src/node/status-api.js';
import type { Binding } from '../../../src/sip/core/location-service.js';
import { NumericOnlyResolver } from '../../../src/sip/core/target-resolver.js';
import { parseNameAddr } from '../../../src/sip/message/index.js';
import type { StaticRegistrationStatus } from '../../../src/usages/sip/static-registrations.js';
import { MemoryNetwork } from '../sip/memory-driver.js';

export interface FakeStatusOptions {
  /** AoRs registered (default 0). */
  aors?: number;
  /** Contacts per AoR (default 1). */
  contacts?: number;
  /** Length of each Contact, at least 40 (default 40). */
  contactBytes?: number;
  /** Static registrations (default 0). */
  statics?: number;
  clock?: Clock;
  /** What the overlay says of an AoR (default: nothing: /api/lookup shows overlay null). */
  describeAor?: (aor: string) => Promise<object>;
}

const HOST = '192.0.2.9';

export function fakeStatusSource(o: FakeStatusOptions = {}): StatusSource {
  const clock = o.clock ?? new ManualClock(1_000_000);
  const driver = new MemoryNetwork().createDriver({ hosts: [HOST] });
  const peer = new SipPeer(
    { clock, random: new SeededRandom(1), driver, resolver: new NumericOnlyResolver(), localHosts: [HOST] },
    { domains: ['p2psip.local'], listen: [], outbound: { mode: 'none' }, advertisedHost: HOST },
  );
  const pad = 'x'.repeat(Math.max(0, (o.contactBytes ?? 40) - 40));
  const regs: Array<[string, Binding[]]> = Array.from({ length: o.aors ?? 0 }, (_, i) => {
    const aor = `sip:u${i}@p2psip.local`;
    return [
      aor,
      Array.from({ length: o.contacts ?? 1 }, (_, k) => ({
        aor,
        contact: parseNameAddr(`<sip:u${i}@198.51.100.${k + 1}:5060;p=y${pad}>`),
        expiresAt: clock.now() + 600_000,
        q: 1,
        callId: `c${i}`,
        cseq: 1,
        source: { protocol: 'udp', host: '198.51.100.1', port: 5060 },
        flowId: undefined,
      })),
    ];
  });
  const st: StaticRegistrationStatus[] = Array.from({ length: o.statics ?? 0 }, (_, i) => ({
    aor: `sip:s${i}@p2psip.local`,
    contacts: [`sip:s${i}@198.51.100.9`],
    state: 'stored',
    storedForSec: 60,
    stores: 1,
    failures: 0,
    lastError: undefined,
  }));
  return {
    overlay: 'p2psip.local',
    peer,
    clock,
    startedAt: 0,
    http: '127.0.0.1:8060',
    registrations: () => regs,
    staticRegistrations: () => st,
    ...(o.describeAor === undefined ? {} : { describeAor: o.describeAor }),
  };
}
