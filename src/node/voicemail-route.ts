/**
 * The voicemail routes of the HTTP API (issue 16), an ApiRoute group behind the guard (api-guard.ts):
 *
 *   GET    /api/voicemail?user=<name>          the user's voicemails, oldest first (JSON)
 *   GET    /api/voicemail/<user>/<id>.wav      one voicemail as a WAV file (PCM16, 8 kHz mono)
 *   DELETE /api/voicemail/<user>/<id>          removes it (a state change: the guard wants the API token)
 *   GET    /api/voicemail/greeting?user=<name>  the user's own greeting as a WAV file (404: it has none,
 *                                               callers hear the generated default)
 *   PUT    /api/voicemail/greeting?user=<name>  stores the body, a WAV file (8 kHz mono: µ-law, A-law or
 *                                               16-bit PCM; 1 to 20 s), as the user's greeting
 *   DELETE /api/voicemail/greeting?user=<name>  back to the default greeting
 *
 * Every route needs the API token, reads too (api-guard.ts PRIVATE_READ_PREFIXES). A greeting is
 * written from this peer: in a closed overlay the storing peer takes it only from a peer holding the
 * user's write grant (where the user registered or called its mailbox) — elsewhere 403 with its
 * reason; a bad WAV file is 400 naming the problem, past 20 s (or MAX_GREETING_WAV_BYTES) 413.
 *
 * `<user>` is a user name of the overlay (or its `user@domain` / `sip:user@domain`). Answers: 200,
 * 400 bad input, 403 the overlay refused the removal (only the peer that recorded it, or one where the user proved its password, may remove it), 404 no such
 * voicemail (or voicemail off), 405, 503 the overlay could not be asked or too many downloads at once
 * (each reads up to 400 values from the overlay: at most MAX_DOWNLOADS run together).
 */
import { VoicemailError } from '../media/voicemail/voicemail-error.js';
import { decodeWav } from '../media/voicemail/wav.js';
import type { ApiHeaders } from './api-guard.js';
import type { ApiRoute } from './http-api.js';
/** pino's shape (peer-routes-context.ts RoutesLogger, not imported: that module imports this one). */
interface RoutesLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}
import type { ApiReply } from './status-api.js';

export const VOICEMAIL_API_PATH = '/api/voicemail';
/** A user's own greeting. */
export const GREETING_API_PATH = `${VOICEMAIL_API_PATH}/greeting`;
/** The list and the greeting send overlay traffic (rate-limited without the token); downloads are bounded by MAX_DOWNLOADS. */
export const VOICEMAIL_OVERLAY_ROUTES: readonly string[] = [VOICEMAIL_API_PATH, GREETING_API_PATH];
/** Longest greeting, ms (= greeting-store.ts MAX_GREETING_MS). */
export const MAX_GREETING_API_MS = 20_000;
/** Shortest greeting taken, ms (as from the phone). */
export const MIN_GREETING_API_MS = 1000;
/** Largest WAV body of a PUT: 20 s of 16-bit PCM (320,000 bytes) and room for headers and chunks such as LIST. */
export const MAX_GREETING_WAV_BYTES = 384 * 1024;
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
  /** The user's own greeting as a WAV file; absent: this peer keeps no greetings. */
  greeting?(aor: string): Promise<{ ok: true; wav: Uint8Array } | { ok: false; reason: 'not-found' | 'failed'; info: string }>;
  /** Stores PCM16 8 kHz mono as the user's greeting. */
  saveGreeting?(aor: string, pcm: Int16Array): Promise<{ ok: true; durationMs: number } | { ok: false; reason: 'off' | 'bad-audio' | 'too-long' | 'forbidden' | 'failed'; info: string }>;
  removeGreeting?(aor: string): Promise<{ ok: true } | { ok: false; reason: 'not-found' | 'forbidden' | 'failed'; info: string }>;
}

/** A request body read by the server, at most `maxBytes` (more: an answer such as 413). */
export type BodyRead = { ok: true; bytes: Uint8Array } | { ok: false; status: number; info: string };

/** What the routes read of a request: its headers and, for a PUT, its body (read only when a route asks). */
export interface VoicemailRequestInfo {
  headers: ApiHeaders;
  readBody?: (maxBytes: number) => Promise<BodyRead>;
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

/** PUT of a greeting: the body read (bounded), the WAV file checked, then stored through the service. */
async function putGreeting(service: VoicemailApiSource, aor: string, request: VoicemailRequestInfo | undefined): Promise<BinaryApiReply> {
  if (service.saveGreeting === undefined) return json(404, { error: 'this peer keeps no greetings' });
  if (request?.readBody === undefined) return json(501, { error: 'this server does not read request bodies' });
  const body = await request.readBody(MAX_GREETING_WAV_BYTES);
  if (!body.ok) return json(body.status, { error: body.info });
  let pcm: Int16Array;
  try {
    pcm = decodeWav(body.bytes, { sampleRate: 8000, maxBytes: MAX_GREETING_WAV_BYTES }).pcm;
  } catch (e) {
    if (e instanceof VoicemailError) return json(e.code === 'WAV_TOO_LARGE' ? 413 : 400, { error: `the body is not a greeting's WAV file (8 kHz mono: µ-law, A-law or 16-bit PCM): ${e.message}` });
    throw e;
  }
  const ms = (pcm.length * 1000) / 8000;
  if (ms > MAX_GREETING_API_MS) return json(413, { error: `a greeting lasts at most ${MAX_GREETING_API_MS / 1000} s, this one ${(ms / 1000).toFixed(1)} s` });
  if (ms < MIN_GREETING_API_MS) return json(400, { error: `a greeting lasts at least ${MIN_GREETING_API_MS / 1000} s, this one ${(ms / 1000).toFixed(1)} s` });
  const r = await service.saveGreeting(aor, pcm);
  if (r.ok) return json(200, { ok: true, aor, durationMs: r.durationMs });
  const status = { off: 404, 'bad-audio': 400, 'too-long': 413, forbidden: 403, failed: 503 }[r.reason];
  return json(status, { error: r.info }, r.reason === 'failed' ? { 'retry-after': '5' } : undefined);
}

export function createVoicemailRoute(ctx: VoicemailRouteContext): ApiRoute {
  let downloads = 0;
  return {
    overlayRoutes: VOICEMAIL_OVERLAY_ROUTES,
    async handle(method: string, url: URL, request?: VoicemailRequestInfo): Promise<BinaryApiReply | undefined> {
      const path = url.pathname;
      if (path !== VOICEMAIL_API_PATH && !path.startsWith(`${VOICEMAIL_API_PATH}/`)) return undefined;
      const service = ctx.voicemail;
      if (service === undefined) return json(404, { error: 'this peer runs no voicemail' });
      if (path === GREETING_API_PATH) {
        const aor = userAor(url.searchParams.get('user') ?? '', ctx.domain);
        if (aor === undefined && ['GET', 'HEAD', 'PUT', 'DELETE'].includes(method)) return json(400, { error: `give ?user=<name>: a user of ${ctx.domain}` });
        if (method === 'GET' || method === 'HEAD') {
          if (service.greeting === undefined) return json(404, { error: 'this peer keeps no greetings' });
          if (downloads >= MAX_DOWNLOADS) return json(503, { error: `${MAX_DOWNLOADS} voicemail downloads run already; try again shortly` }, { 'retry-after': '2' });
          downloads++;
          try {
            const r = await service.greeting(aor!);
            if (!r.ok) return r.reason === 'not-found' ? json(404, { error: r.info }) : json(503, { error: `the greeting could not be read: ${r.info}` }, { 'retry-after': '5' });
            return { status: 200, body: '', bytes: r.wav, contentType: 'audio/wav', headers: { 'content-disposition': 'attachment; filename="greeting.wav"' } };
          } finally {
            downloads--;
          }
        }
        if (method === 'PUT') return putGreeting(service, aor!, request);
        if (method === 'DELETE') {
          if (service.removeGreeting === undefined) return json(404, { error: 'this peer keeps no greetings' });
          const r = await service.removeGreeting(aor!);
          if (r.ok) return json(200, { ok: true, aor, greeting: 'default' });
          return json({ 'not-found': 404, forbidden: 403, failed: 503 }[r.reason], { error: r.info });
        }
        return json(405, { error: `${GREETING_API_PATH} takes GET, PUT (a WAV body) or DELETE` }, { allow: 'GET, HEAD, PUT, DELETE' });
      }
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
