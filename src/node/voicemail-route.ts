/**
 * The voicemail routes of the HTTP API (issue 16), an ApiRoute group behind the guard (api-guard.ts):
 *
 *   GET    /api/voicemail?user=<name>          the user's voicemails, oldest first (JSON)
 *   GET    /api/voicemail/<user>/<id>.wav      one voicemail as a WAV file (PCM16, 8 kHz mono)
 *   DELETE /api/voicemail/<user>/<id>          removes it (a state change: the guard wants the API token)
 *
 * `<user>` is a user name of the overlay (or its `user@domain` / `sip:user@domain`). Answers: 200,
 * 400 bad input, 403 the overlay refused the removal (only the peer that recorded it, or one where the user proved its password, may remove it), 404 no such
 * voicemail (or voicemail off), 405, 503 the overlay could not be asked or too many downloads at once
 * (each reads up to 400 values from the overlay: at most MAX_DOWNLOADS run together).
 */
import type { ApiRoute } from './http-api.js';
/** pino's shape (peer-routes-context.ts RoutesLogger, not imported: that module imports this one). */
interface RoutesLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}
import type { ApiReply } from './status-api.js';

export const VOICEMAIL_API_PATH = '/api/voicemail';
/** The list sends overlay traffic (rate-limited without the token); downloads are bounded by MAX_DOWNLOADS. */
export const VOICEMAIL_OVERLAY_ROUTES: readonly string[] = [VOICEMAIL_API_PATH];
/** Downloads running at once; past it 503 with Retry-After. */
export const MAX_DOWNLOADS = 2;
/** Longest `user` accepted. */
export const MAX_VOICEMAIL_USER_CHARS = 256;

/** One voicemail as listed (the service's VoicemailListing). */
export interface VoicemailListItem {
  id: string;
  from: string;
  date: string;
  durationMs: number;
  bytes: number;
}

/** What the routes need of the voicemail service (usages/voicemail/voicemail-service.ts's VoicemailService fits). */
export interface VoicemailApiSource {
  list(aor: string): Promise<{ ok: true; voicemails: VoicemailListItem[] } | { ok: false; info: string }>;
  download(aor: string, id: string): Promise<{ ok: true; wav: Uint8Array } | { ok: false; reason: 'not-found' | 'failed'; info: string }>;
  remove(aor: string, id: string): Promise<{ ok: true } | { ok: false; reason: 'not-found' | 'forbidden' | 'failed'; info: string }>;
}

/** What the route group reads of the peer (a PeerRoutesContext with its `voicemail` field fits). */
export interface VoicemailRouteContext {
  logger: RoutesLogger;
  /** The SIP domain (overlay name): `<user>` becomes `sip:<user>@<domain>`. */
  domain: string;
  /** The voicemail service; undefined when this peer runs none. */
  voicemail?: VoicemailApiSource | undefined;
}

/**
 * An ApiReply with a binary body: `bytes`, when present, is the body (`body` is then ''). The platform
 * server writes those bytes as they are.
 */
export type BinaryApiReply = ApiReply & { bytes?: Uint8Array };

const json = (status: number, value: unknown, headers?: Record<string, string>): ApiReply => ({ status, body: JSON.stringify(value, null, 2), contentType: 'application/json', ...(headers === undefined ? {} : { headers }) });

const USER_RE = /^[A-Za-z0-9\-._~!$&'()*+,;=%]{1,64}$/;
const ID_RE = /^(?:[0-9a-f]{2}){13,64}$/;

/** `alice`, `alice@domain` or `sip:alice@domain` → `sip:alice@domain`; undefined when not a user of the domain. */
export function userAor(user: string, domain: string): string | undefined {
  if (user.length === 0 || user.length > MAX_VOICEMAIL_USER_CHARS) return undefined;
  const m = /^(?:sips?:)?([^@]+)(?:@(.+))?$/i.exec(user);
  if (m === null) return undefined;
  const name = m[1]!;
  if (m[2] !== undefined && m[2].toLowerCase() !== domain.toLowerCase()) return undefined;
  if (!USER_RE.test(name)) return undefined;
  return `sip:${name}@${domain.toLowerCase()}`;
}

export function createVoicemailRoute(ctx: VoicemailRouteContext): ApiRoute {
  let downloads = 0;
  return {
    overlayRoutes: VOICEMAIL_OVERLAY_ROUTES,
    async handle(method: string, url: URL): Promise<BinaryApiReply | undefined> {
      const path = url.pathname;
      if (path !== VOICEMAIL_API_PATH && !path.startsWith(`${VOICEMAIL_API_PATH}/`)) return undefined;
      const service = ctx.voicemail;
      if (service === undefined) return json(404, { error: 'this peer runs no voicemail' });
      if (path === VOICEMAIL_API_PATH) {
        if (method !== 'GET' && method !== 'HEAD') return json(405, { error: `${VOICEMAIL_API_PATH} takes GET` }, { allow: 'GET, HEAD' });
        const aor = userAor(url.searchParams.get('user') ?? '', ctx.domain);
        if (aor === undefined) return json(400, { error: `give ?user=<name>: a user of ${ctx.domain}` });
        const r = await service.list(aor);
        if (!r.ok) return json(503, { error: `the overlay could not be asked: ${r.info}` }, { 'retry-after': '5' });
        return json(200, { aor, voicemails: r.voicemails });
      }
      const parts = path.slice(VOICEMAIL_API_PATH.length + 1).split('/');
      if (parts.length !== 2) return json(404, { error: `no such endpoint: ${path.slice(0, 200)}` });
      let user: string;
      try {
        user = decodeURIComponent(parts[0]!);
      } catch {
        return json(400, { error: 'the user is not a valid percent-encoded name' });
      }
      const aor = userAor(user, ctx.domain);
      if (aor === undefined) return json(400, { error: `not a user of ${ctx.domain}` });
      const last = parts[1]!;
      if (method === 'GET' || method === 'HEAD') {
        if (!last.endsWith('.wav')) return json(404, { error: `a voicemail is read as ${VOICEMAIL_API_PATH}/<user>/<id>.wav` });
        const id = last.slice(0, -4);
        if (!ID_RE.test(id)) return json(400, { error: 'a voicemail id is its key in lowercase hex' });
        if (downloads >= MAX_DOWNLOADS) return json(503, { error: `${MAX_DOWNLOADS} voicemail downloads run already; try again shortly` }, { 'retry-after': '2' });
        downloads++;
        try {
          const r = await service.download(aor, id);
          if (!r.ok) return r.reason === 'not-found' ? json(404, { error: r.info }) : json(503, { error: `the voicemail could not be read: ${r.info}` }, { 'retry-after': '5' });
          return { status: 200, body: '', bytes: r.wav, contentType: 'audio/wav', headers: { 'content-disposition': `attachment; filename="${id}.wav"` } };
        } catch (err) {
          ctx.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'voicemail: a download failed');
          return json(500, { error: 'the voicemail could not be read' });
        } finally {
          downloads--;
        }
      }
      if (method === 'DELETE') {
        if (!ID_RE.test(last)) return json(400, { error: 'a voicemail id is its key in lowercase hex' });
        const r = await service.remove(aor, last);
        if (r.ok) return json(200, { ok: true, aor, id: last });
        const status = { 'not-found': 404, forbidden: 403, failed: 503 }[r.reason];
        return json(status, { error: r.info });
      }
      return json(405, { error: `${VOICEMAIL_API_PATH}/<user>/<id> takes GET (<id>.wav) or DELETE` }, { allow: 'GET, HEAD, DELETE' });
    },
  };
}
