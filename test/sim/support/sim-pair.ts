import { ManualClock } from '../../../src/lib/manual-clock.js';
import { SimNetwork } from '../../../src/sim/sim-network.js';
import type { SimNetworkOptions } from '../../../src/sim/sim-network-options.js';
import { recordEvents } from './recording-user.js';

/** Two hosts 10 ms apart (constant latency unless `options` say otherwise), their drivers recorded, b listening on 6084. */
export async function simPair(options: Partial<SimNetworkOptions> = {}) {
  const clock = new ManualClock();
  const net = new SimNetwork(clock, { pairLatency: { kind: 'constant', ms: 10 }, ...options });
  const a = net.addHost();
  const b = net.addHost();
  const da = net.driverFor(a);
  const db = net.driverFor(b);
  const ra = recordEvents(da, clock);
  const rb = recordEvents(db, clock);
  const ep = await db.listen(b, 6084);
  return { clock, net, a, b, da, db, ra, rb, ep };
}
