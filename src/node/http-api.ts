/**
 * The whole HTTP API of a peer as one pure handler: the guard (Host, Origin, token, rate limit:
 * api-guard.ts) in front of the storage routes (storage-api.ts) and the status routes, lookup and
 * dashboard (status-api.ts). The platform server (platform/http-server.ts) carries it; tests and
 * the HTTP fuzzer (scripts/fuzz-http.ts) call the same thing.
 *
 * `POST /api/login` (issue 17) is answered here: a browser that sent the token (the guard checked
 * it) gets the guard's session cookie, with which it may read when the API listens beyond loopback.
 */
import type { Clock } from '../lib/clock.js';
import type { OverlayStorage } from '../reload/storage/index.js';
import { ApiGuard, SESSION_LIFETIME_MS, type ApiHeaders } from './api-guard.js';
import { handleApi, STATUS_OVERLAY_ROUTES, type ApiReply, type StatusSource } from './status-api.js';
import { createStorageApi, STORAGE_OVERLAY_ROUTES } from './storage-api.js';
import { USERS_OVERLAY_ROUTES, type UsersApiHandler } from './users-api.js';

/** What a route reads of a request: its headers and, for an upload route, its body (read only when asked). */
export interface ApiRequest {
  headers: ApiHeaders;
  readBody?: (maxBytes: number) => Promise<{ ok: true; bytes: Uint8Array } | { ok: false; status: number; info: string }>;
}

export interface HttpApiDeps {
  clock: Clock;
  status: StatusSource;
  /** The overlay's storage, for /api/storage (undefined: those routes answer 404). */
  storage: OverlayStorage | undefined;
  /** The user directory routes, /api/users (issue 15; undefined: 404 from the status routes). */
  users?: UsersApiHandler;
  /** More routes (issue 17: metrics, dashboard, browser phone), tried in order before the others. */
  routes?: readonly ApiRoute[];
}

/**
 * One more group of routes: answers the requests it knows (undefined: not mine). It runs after the
 * guard (api-guard.ts), so it sees only requests the guard let through.
 */
export interface ApiRoute {
  handle(method: string, url: URL, request: ApiRequest): Promise<ApiReply | undefined> | ApiReply | undefined;
  /** Its paths that send overlay traffic (rate-limited without the token). */
  overlayRoutes?: readonly string[];
}

/** Where a browser trades the token for a session cookie (POST, `Authorization: Bearer <token>`). */
export const LOGIN_API_PATH = '/api/login';

export interface HttpApiOptions {
  /** The API token (platform/api-token.ts). */
  token: string;
}

export interface HttpApi {
  /** Answers one request. */
  handle(method: string, url: URL, request: ApiRequest): Promise<ApiReply>;
  /** Where the server listens (Host and Origin checks); before this every request gets 503. */
  bind(host: string, port: number, otherHosts?: readonly string[]): void;
}

export function createHttpApi(deps: HttpApiDeps, options: HttpApiOptions): HttpApi {
  const guard = new ApiGuard(
    { clock: deps.clock },
    {
      token: options.token,
      overlayRoutes: new Set([...STATUS_OVERLAY_ROUTES, ...STORAGE_OVERLAY_ROUTES, ...USERS_OVERLAY_ROUTES, ...(deps.routes ?? []).flatMap((r) => r.overlayRoutes ?? [])]),
    },
  );
  const storageApi = createStorageApi(deps.storage);
  return {
    async handle(method, url, request) {
      const refused = guard.check(method, url, request.headers);
      if (refused !== undefined) return refused;
      if (url.pathname === LOGIN_API_PATH) {
        if (method !== 'POST') return { status: 405, body: JSON.stringify({ error: `${LOGIN_API_PATH} takes POST with Authorization: Bearer <token>` }), contentType: 'application/json', headers: { allow: 'POST' } };
        return { status: 200, body: JSON.stringify({ ok: true, expiresInSec: SESSION_LIFETIME_MS / 1000 }), contentType: 'application/json', headers: { 'set-cookie': guard.issueSession() } };
      }
      for (const route of deps.routes ?? []) {
        const reply = await route.handle(method, url, request);
        if (reply !== undefined) return reply;
      }
      return (await storageApi(method, url)) ?? (await deps.users?.(method, url, request.headers)) ?? handleApi(deps.status, method, url);
    },
    bind: (host, port, otherHosts = []) => guard.bind(host, port, otherHosts),
  };
}
