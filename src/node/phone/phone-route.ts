/**
 * The browser phone (issue 17), served by every peer's HTTP server:
 *   GET /phone               the page (phone-page.ts)
 *   GET /phone/phone.js      its behaviour (phone-script.ts)
 *   GET /phone/phone.css     its style
 *   GET /phone/jssip.js      JsSIP, packed once from the installed package (platform/browser-jssip.ts)
 *   GET /phone/config.json   this peer's SIP WebSocket URL(s), domain and auth mode (phone-config.ts)
 * The page registers and calls through the peer's `--sip-ws` listener (SIP over WebSocket, RFC 7118).
 * Other methods on these paths get 405; other paths under /phone/ 404. Every answer carries a
 * Content-Security-Policy that allows only this peer's scripts and styles (no inline code), media
 * from the page's own streams and WebSockets anywhere (the SIP listener has another port).
 */
import type { ApiHeaders } from '../api-guard.js';
import type { ApiRoute } from '../http-api.js';
import type { PeerRoutesContext } from '../peer-routes-context.js';
import type { ApiReply } from '../status-api.js';
import { jsSipAsset, type JsSipAsset } from '../../platform/browser-jssip.js';
import { phoneConfig, type PhoneConfig } from './phone-config.js';
import { PHONE_CSS, PHONE_HTML } from './phone-page.js';
import { PHONE_SCRIPT } from './phone-script.js';

export const PHONE_PATH = '/phone';

export const PHONE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self' ws: wss:",
  "media-src 'self' blob: mediastream:",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': PHONE_CSP,
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
});

export interface PhoneRouteDeps {
  /** JsSIP for the browser (default: packed from the installed package on first use). */
  jssip?: JsSipAsset;
}

const text = (contentType: string, body: string): ApiReply => ({ status: 200, body, contentType, headers: SECURITY_HEADERS });
const error = (status: number, message: string, headers?: Record<string, string>): ApiReply => ({
  status,
  body: JSON.stringify({ error: message }),
  contentType: 'application/json',
  headers: { ...SECURITY_HEADERS, ...headers },
});

function header(headers: ApiHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function authMode(ctx: PeerRoutesContext): PhoneConfig['auth'] {
  const a = ctx.status.authStatus?.() as { mode?: unknown } | undefined;
  return a?.mode === 'closed' || a?.mode === 'open' ? a.mode : 'none';
}

export function createPhoneRoute(ctx: PeerRoutesContext, deps: PhoneRouteDeps = {}): ApiRoute & { close?(): void } {
  const jssip = deps.jssip ?? jsSipAsset();
  let jssipFailureLogged = false;
  const files: Record<string, () => Promise<ApiReply> | ApiReply> = {
    [PHONE_PATH]: () => text('text/html; charset=utf-8', PHONE_HTML),
    [`${PHONE_PATH}/`]: () => text('text/html; charset=utf-8', PHONE_HTML),
    [`${PHONE_PATH}/phone.js`]: () => text('text/javascript; charset=utf-8', PHONE_SCRIPT),
    [`${PHONE_PATH}/phone.css`]: () => text('text/css; charset=utf-8', PHONE_CSS),
    [`${PHONE_PATH}/jssip.js`]: async () => {
      try {
        return text('text/javascript; charset=utf-8', (await jssip.get()).script);
      } catch (err) {
        if (!jssipFailureLogged) ctx.logger.warn({ err: String(err) }, 'browser phone: JsSIP could not be packed for the browser');
        jssipFailureLogged = true;
        return error(500, `JsSIP is not available to the browser phone: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  };
  return {
    handle(method, url, request) {
      const path = url.pathname;
      if (path !== PHONE_PATH && !path.startsWith(`${PHONE_PATH}/`)) return undefined;
      const isConfig = path === `${PHONE_PATH}/config.json`;
      const file = files[path];
      if (file === undefined && !isConfig) return error(404, `no such file of the browser phone: ${path.slice(0, 100)}`);
      if (method !== 'GET' && method !== 'HEAD') return error(405, `${method} is not allowed here (GET only)`, { allow: 'GET, HEAD' });
      if (isConfig) {
        const cfg = phoneConfig({ domain: ctx.domain, addresses: ctx.sipAddresses(), hostHeader: header(request.headers, 'host'), auth: authMode(ctx) });
        return { status: 200, body: JSON.stringify(cfg, null, 2), contentType: 'application/json', headers: SECURITY_HEADERS };
      }
      return file!();
    },
  };
}
