/**
 * The user directory routes of the HTTP API (issue 15; pure handler, like storage-api.ts), what
 * `p2psip user add|passwd|remove|list` calls:
 *   GET  /api/users                     the users this peer created or changed (not the directory)
 *   POST /api/users/add?user=U          X-P2psip-Password: base64(new password)
 *   POST /api/users/passwd?user=U       X-P2psip-Password: base64(new), X-P2psip-Current-Password:
 *                                       base64(current) — absent: the owner's override
 *   POST /api/users/remove?user=U       X-P2psip-Current-Password (absent: the owner's override)
 * Passwords travel in headers, never in the URL (URLs are logged); the POSTs need the API token
 * (api-guard.ts). Answers: 200, 400 bad input, 403 not proven, 404 no such user, 409 exists / open
 * overlay, 503 the overlay could not be asked.
 */
import type { UserDirectory } from '../usages/sip/auth/user-directory.js';
import type { ApiHeaders } from './api-guard.js';
import type { ApiReply } from './status-api.js';

export const USERS_OVERLAY_ROUTES: readonly string[] = ['/api/users/add', '/api/users/passwd', '/api/users/remove'];
export const PASSWORD_HEADER = 'x-p2psip-password';
export const CURRENT_PASSWORD_HEADER = 'x-p2psip-current-password';

const json = (status: number, value: unknown): ApiReply => ({ status, body: JSON.stringify(value, null, 2), contentType: 'application/json' });

/** A base64 UTF-8 password header: undefined when absent, null when malformed. */
function password(headers: ApiHeaders, name: string): string | undefined | null {
  const v = headers[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > 512 || !/^[A-Za-z0-9+/=_-]*$/.test(v)) return null;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(v, 'base64'));
    return text.length > 0 ? text : null;
  } catch {
    return null;
  }
}

export type UsersApiHandler = (method: string, url: URL, headers: ApiHeaders) => Promise<ApiReply | undefined>;

/** `directory` undefined: an open overlay (or no overlay): no user directory. */
export function createUsersApi(directory: UserDirectory | undefined, mode: 'open' | 'closed' | 'none'): UsersApiHandler {
  return async (method, url, headers) => {
    const path = url.pathname;
    if (path !== '/api/users' && !path.startsWith('/api/users/')) return undefined;
    if (directory === undefined) {
      const why = mode === 'open' ? 'this overlay is open (--open): it has no user directory' : mode === 'closed' ? "this overlay's users are the enrollment server's (p2psip enroll-server --users)" : 'this peer runs no overlay';
      return json(409, { error: why });
    }
    const route = path.slice('/api/users'.length);
    if (route === '') {
      if (method !== 'GET') return json(405, { error: '/api/users takes GET' });
      return json(200, { realm: directory.realm, users: directory.list(), note: 'users this peer created or changed; the directory itself is private and not enumerable' });
    }
    if (route !== '/add' && route !== '/passwd' && route !== '/remove') return json(404, { error: `no such endpoint: ${path}` });
    if (method !== 'POST') return json(405, { error: `${route} takes POST` });
    const user = url.searchParams.get('user') ?? '';
    const pw = password(headers, PASSWORD_HEADER);
    const current = password(headers, CURRENT_PASSWORD_HEADER);
    if (pw === null || current === null) return json(400, { error: 'password headers are base64 of a non-empty UTF-8 text' });
    if (route !== '/remove' && pw === undefined) return json(400, { error: `give the new password in ${PASSWORD_HEADER} (base64)` });
    const r = route === '/add' ? await directory.add(user, pw!) : route === '/passwd' ? await directory.passwd(user, current, pw!) : await directory.remove(user, current);
    if (r.ok) return json(200, r);
    const status = { 'bad-request': 400, exists: 409, 'unknown-user': 404, forbidden: 403, unavailable: 503 }[r.status];
    return json(status, r);
  };
}
