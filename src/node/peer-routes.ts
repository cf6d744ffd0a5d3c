/**
 * The HTTP routes of issue 17 beside the JSON API: Prometheus metrics (metrics/), the live dashboard
 * (dashboard/) and the browser phone (phone/). Each group gets the same context of the running
 * peer and answers only its own paths (http-api.ts ApiRoute).
 */
import type { ApiRoute } from './http-api.js';
import type { PeerRoutesContext } from './peer-routes-context.js';
import { createMetricsRoute } from './metrics/metrics-route.js';
import { createDashboardRoute } from './dashboard/dashboard-route.js';
import { createPhoneRoute } from './phone/phone-route.js';
import { createVoicemailRoute } from './voicemail-route.js';
import { createPresenceRoute } from './presence-route.js';

/** Route groups, in the order they are tried. Each has a `close()` for long-lived streams. */
export function createPeerRoutes(ctx: PeerRoutesContext): { routes: ApiRoute[]; close(): void } {
  const groups: Array<ApiRoute & { close?(): void }> = [createMetricsRoute(ctx), createDashboardRoute(ctx), createPhoneRoute(ctx), createVoicemailRoute(ctx), createPresenceRoute(ctx)];
  return {
    routes: groups,
    close: () => {
      for (const g of groups) g.close?.();
    },
  };
}
