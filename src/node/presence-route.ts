/**
 * Issue 16: a user's watcher rules through the HTTP API (usages/presence/presence-rules.ts):
 *   GET  /api/presence/rules?user=bob                                   → {aor, allow, deny}
 *   POST /api/presence/rules?user=bob&deny=*&allow=sip:alice@p2psip.local (the API token, like every write)
 * Entries: `*`, `*@domain` or a sip: AoR, repeated parameters; none at all removes the rules. In a
 * closed overlay the storing peers take them only from a peer where the user registered with its password.
 */
import type { ApiRoute } from './http-api.js';
import type { ApiReply } from './status-api.js';
import type { PresenceRules } from '../usages/presence/presence-authorization.js';
import type { SetRulesResult } from '../usages/presence/presence-rules.js';
import { userAor } from './voicemail-route.js';

export const PRESENCE_RULES_API_PATH = '/api/presence/rules';

export interface PresenceRulesApiSource {
  rules(aor: string): Promise<PresenceRules | undefined>;
  set(aor: string, rules: PresenceRules): Promise<SetRulesResult>;
}

const json = (status: number, value: unknown, headers?: Record<string, string>): ApiReply => ({ status, body: JSON.stringify(value, null, 2), contentType: 'application/json', ...(headers === undefined ? {} : { headers }) });

export function createPresenceRoute(ctx: { domain: string; presenceRules?: PresenceRulesApiSource }): ApiRoute {
  return {
    overlayRoutes: [PRESENCE_RULES_API_PATH],
    async handle(method: string, url: URL): Promise<ApiReply | undefined> {
      if (url.pathname !== PRESENCE_RULES_API_PATH) return undefined;
      const store = ctx.presenceRules;
      if (store === undefined) return json(404, { error: 'this peer runs no presence service' });
      const aor = userAor(url.searchParams.get('user') ?? '', ctx.domain);
      if (aor === undefined) return json(400, { error: `give ?user=<name>: a user of ${ctx.domain}` });
      if (method === 'GET' || method === 'HEAD') {
        const rules = await store.rules(aor);
        return json(200, { aor, allow: rules?.allow ?? [], deny: rules?.deny ?? [] });
      }
      if (method === 'POST') {
        const r = await store.set(aor, { allow: url.searchParams.getAll('allow'), deny: url.searchParams.getAll('deny') });
        if (r.ok) return json(200, { ok: true, aor });
        const status = { 'bad-request': 400, forbidden: 403, unavailable: 503 }[r.status];
        return json(status, { error: r.error }, r.status === 'unavailable' ? { 'retry-after': '5' } : undefined);
      }
      return json(405, { error: `${PRESENCE_RULES_API_PATH} takes GET or POST` }, { allow: 'GET, HEAD, POST' });
    },
  };
}
