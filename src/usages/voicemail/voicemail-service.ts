/**
 * Voicemail (issue 16), the SIP side: a LocalServices (sip/core/local-services.ts) that answers calls
 * to absent users, records what the caller says into the overlay (voicemail-store.ts), lets a user
 * hear and delete its messages by calling the voicemail number, and tells phones that messages wait.
 *
 * Recording. An INVITE from one of our phones (not one another peer forwarded: that peer takes it)
 * to a user of the overlay whose routing failed with 404 (not registered), 408 (no answer: the
 * proxy's no-answer timer, `noAnswerMs`), 480 or 486 is answered here — when the user exists
 * (host.userExists) and fewer than `maxCalls` voicemail calls run (past it the failure goes upstream
 * unchanged). The SDP offer must have PCMU or PCMA (else 488), a media port pair must be free (else
 * 503 Retry-After). Our 200 carries the answer SDP and a Contact of our own, `sip:vm-<token>@…`: the
 * ACK and in-dialog requests come back to it (the proxy hands them to `onAck` and `claim`).
 * The 2xx is sent again (T1 doubling to T2) until its ACK; no ACK in `ackTimeoutMs`: BYE. On the ACK
 * the greeting and the beep play, then the caller's audio is recorded until its BYE, the finish key
 * (#) or `maxRecordMs` (then we send the BYE). The greeting is the user's own (greeting-store.ts, when
 * `host.greetings`), fetched before the 200 is sent: at most `greetingWaitMs`, else — or when the
 * user has none, or it cannot be read — the generated default. A recording of at least `minRecordMs` is stored as
 * µ-law; a phone of the user registered here gets an unsolicited message-summary NOTIFY.
 *
 * Retrieval. An INVITE to the voicemail number (`sip:<numberUser>@<domain>`) from a phone of ours
 * whose user proved its password (ServiceRequest.user; an open overlay: its From AoR; else 403)
 * opens that user's mailbox: the index is read and the messages' audio fetched (oldest first, at
 * most `maxRetrievalAudioMs` of it, within `retrievalLoadMs`), then the call is answered and the
 * mailbox menu (media/voicemail/mailbox-menu.ts) runs: 7 deletes (the index entry, then the chunks);
 * with `host.greetings`, 8 records the user's greeting (stored from this peer: in a closed overlay the
 * user's write grant is here, it proved its password) and opening the mailbox renews a greeting near
 * the end of its lifetime.
 *
 * Media: one RTP/RTCP port pair per call (MediaPorts), symmetric RTP (we send to the source of the
 * first packet, to the SDP's address before it; packets from other sources are dropped).
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { randomToken, type Random } from '../../lib/random.js';
import type { MediaPortPair, MediaPorts, UdpAddr } from '../../media/media-relay.js';
import { g711Decode, g711Encode } from '../../media/voicemail/g711.js';
import type { MailboxMessage } from '../../media/voicemail/mailbox-menu.js';
import { buildAnswerSdp, negotiateAudio, type NegotiatedAudio } from '../../media/voicemail/sdp-audio.js';
import { RecordingSession, RetrievalSession, type RecordingResult } from '../../media/voicemail/voicemail-session.js';
import { VoicemailError } from '../../media/voicemail/voicemail-error.js';
import { decodeWav, encodeWav } from '../../media/voicemail/wav.js';
import { GreetingStore, MAX_GREETING_BYTES, MAX_GREETING_MS } from './greeting-store.js';
import { fromAorOf, type LocalServices, type ServiceRequest } from '../../sip/core/local-services.js';
import { createResponse, cseqOf, isSipUri, parseUri, SipHeaders } from '../../sip/message/index.js';
import type { SipRequest, SipResponse, Uri } from '../../sip/message/sip-message.js';
import type { OutboundTarget } from '../../sip/transport/sip-transport.js';
import { MESSAGE_SUMMARY_CONTENT_TYPE, messageSummaryBody, type MessageSummarySource } from '../presence/message-summary.js';
import { tagOfParty } from '../presence/notify-request.js';
import type { UserSealing } from '../sealing/user-sealing.js';
import { buildBye, callDialog, type CallDialog } from './voicemail-dialog.js';
import {
  DEFAULT_STORAGE_PARALLEL,
  DEFAULT_VOICEMAIL_LIFETIME_S,
  MAX_VOICEMAIL_MS,
  runBounded,
  VoicemailStore,
  keyOfId,
  type VoicemailEntry,
  type VoicemailStorage,
} from './voicemail-store.js';
import { VoicemailSummary } from './voicemail-summary.js';

/** The methods our calls take (Allow of our 200 and 405s). */
export const VOICEMAIL_ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS, INFO';
/** After a REGISTER, the wait before an unsolicited message-summary NOTIFY (the phone may subscribe first), ms. */
export const UNSOLICITED_NOTIFY_DELAY_MS = 2000;
/** The user part prefix of our calls' Contact URIs. */
export const CALL_USER_PREFIX = 'vm-';
const TOKEN_LENGTH = 16;
/** RFC 3261 T1 and T2 (2xx retransmissions, §13.3.1.4). */
const T1 = 500;
const T2 = 4000;

export interface VoicemailHost {
  clock: Clock;
  random: Random;
  storage: VoicemailStorage;
  /** Our Node-ID: the first part of every key and chunk we write. */
  selfNodeId: Uint8Array;
  /** Wall-clock ms (voicemail dates, expiry). */
  wallClock(): number;
  /** The overlay's SIP domain (the voicemail number lives there). */
  domain: string;
  /** Enrolled overlays: index entries and audio are encrypted to the user's certificates (user-sealing.ts). */
  sealing?: UserSealing;
  /**
   * The overlay has the P2PSIP-VOICEMAIL-GREETING Kind: users' own greetings are played, recorded
   * (mailbox key 8) and served (the API). Default false: the generated greeting only.
   */
  greetings?: boolean;
  /** True for a canonical AoR that lives in the overlay. */
  inOverlay(aor: string): boolean;
  /**
   * Whether the AoR names a user of the overlay (a closed overlay: its user directory), asked only after a
   * 404 (480, 486, 408 come from a registered user). A Promise:
   * the call waits for it (the failure goes upstream as it was when false). Absent: every AoR of the overlay.
   */
  userExists?(aor: string): boolean | Promise<boolean>;
  /** True while a phone of the AoR is registered at this peer. */
  registeredHere(aor: string): boolean;
  /** No digest authentication (an open overlay): the mailbox called is the From AoR's. */
  openOverlay: boolean;
  /** The canonical AoR of a URI (the proxy's LocalIdentity); default sip:user@host, host lowercased. */
  canonicalAor?(uri: Uri): string | undefined;
  /** Our SIP URI with user part `user` for the transport `r` came on (`sip:vm-…@host:port;transport=…`). */
  contactUri(user: string, r: ServiceRequest): string;
  /** Our RTP address as the phone of `r` reaches it (an IP address). */
  mediaAddress(r: ServiceRequest): string;
  ports: MediaPorts;
  /**
   * Sends a request of ours in a dialog (a BYE) as the presence host's `send`: adds the Via, sends to
   * its first Route else its Request-URI, or to `arrivedOn` when that is not reachable directly.
   * Resolves with the final status (408 timeout, 503 unsendable).
   */
  send(request: SipRequest, arrivedOn: OutboundTarget): Promise<number>;
  /** Sends a request to an AoR the way a phone's would go (ProxyCore.originate): the unsolicited NOTIFYs. */
  originate(request: SipRequest): Promise<SipResponse>;
  logger?: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };
}

export interface VoicemailOptions {
  /**
   * User part of the voicemail number (default '*98': sip:*98@<domain>, the star code PBXs use — a
   * name such as 'voicemail' could be a user's, or a gateway's static registration).
   */
  numberUser: string;
  /** Failures after which a call goes to voicemail (default 404, 408, 480, 486). */
  divertOn: readonly number[];
  /** Ringing time before the proxy gives up on the phones (then 408 → voicemail), ms (default 20,000; 1,000..300,000; 0: no timer). */
  noAnswerMs: number;
  /** Voicemail calls at once, recordings being stored included (default 16; 1..256). */
  maxCalls: number;
  /** Longest message, ms (default 120,000; 1,000..120,000). */
  maxRecordMs: number;
  /** Shortest message stored, ms (default 1,000; 0..10,000). */
  minRecordMs: number;
  /** Wait for the ACK of our 2xx, ms (default 32,000 = 64·T1). */
  ackTimeoutMs: number;
  /** Lifetime of a voicemail, s (default 30 days). */
  lifetimeS: number;
  /** Stores / Fetches of one voicemail in flight (default 8; 1..32). */
  parallel: number;
  /**
   * Most audio a retrieval call loads, ms (default 300,000; 1,000..2,400,000). It is held as PCM16
   * for the call (16 kB/s: 4.8 MB at the default, times `maxCalls` at worst).
   */
  maxRetrievalAudioMs: number;
  /** Time to load a mailbox before answering, ms (default 15,000; 1,000..60,000); what is loaded then is played. */
  retrievalLoadMs: number;
  /** Message-summary counts are taken as true this long, ms (default 60,000). */
  summaryTtlMs: number;
  /** A REGISTER refresh checks for waiting messages only after this long (default 10 min); a new binding always does. */
  recheckMs: number;
  /** AoRs whose last check time is remembered (default 10,000). */
  maxChecked: number;
  /** Wait for the user's own greeting before answering, ms (default 1,500; 100..10,000): past it the default plays. */
  greetingWaitMs: number;
}

export const DEFAULT_VOICEMAIL_OPTIONS: Readonly<VoicemailOptions> = Object.freeze({
  numberUser: '*98',
  divertOn: Object.freeze([404, 408, 480, 486]),
  noAnswerMs: 20_000,
  maxCalls: 16,
  maxRecordMs: MAX_VOICEMAIL_MS,
  minRecordMs: 1000,
  ackTimeoutMs: 64 * T1,
  lifetimeS: DEFAULT_VOICEMAIL_LIFETIME_S,
  parallel: DEFAULT_STORAGE_PARALLEL,
  maxRetrievalAudioMs: 300_000,
  retrievalLoadMs: 15_000,
  summaryTtlMs: 60_000,
  recheckMs: 10 * 60_000,
  maxChecked: 10_000,
  greetingWaitMs: 1500,
});

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`voicemail option ${name}: an integer in [${min}, ${max}], got ${String(v)}`);
}

export interface VoicemailStats {
  answered: number;
  recorded: number;
  tooShort: number;
  storeFailed: number;
  mailboxFull: number;
  refusedBusy: number;
  refusedSdp: number;
  refusedNoPort: number;
  noAck: number;
  retrievals: number;
  retrievalRefused: number;
  deleted: number;
  deleteFailed: number;
  notifies: number;
  notifyFailed: number;
  byeFailed: number;
  /** Calls greeted with the user's own greeting. */
  ownGreetings: number;
  /** Own greetings that could not be fetched in time (or at all): the default played. */
  greetingFallbacks: number;
  greetingsSaved: number;
  greetingSaveFailed: number;
}

interface Call {
  readonly token: string;
  readonly kind: 'record' | 'retrieve';
  /** The mailbox's AoR. */
  readonly aor: string;
  readonly r: ServiceRequest;
  readonly dialog: CallDialog;
  readonly contact: string;
  readonly audio: NegotiatedAudio;
  pair: MediaPortPair | undefined;
  remote: UdpAddr;
  latched: boolean;
  state: 'answered' | 'confirmed' | 'ended';
  ok: SipResponse | undefined;
  okTimer: TimerHandle | undefined;
  okInterval: number;
  ackTimer: TimerHandle | undefined;
  recording?: RecordingSession;
  retrieval?: RetrievalSession;
  /** Retrieval: the entries of the messages played, by id. */
  entries?: Map<string, VoicemailEntry>;
}

/** One voicemail as the API lists it. */
export interface VoicemailListing {
  id: string;
  from: string;
  /** ISO 8601. */
  date: string;
  durationMs: number;
  bytes: number;
}

export class VoicemailService implements LocalServices {
  readonly stats: VoicemailStats = {
    answered: 0,
    recorded: 0,
    tooShort: 0,
    storeFailed: 0,
    mailboxFull: 0,
    refusedBusy: 0,
    refusedSdp: 0,
    refusedNoPort: 0,
    noAck: 0,
    retrievals: 0,
    retrievalRefused: 0,
    deleted: 0,
    deleteFailed: 0,
    notifies: 0,
    notifyFailed: 0,
    byeFailed: 0,
    ownGreetings: 0,
    greetingFallbacks: 0,
    greetingsSaved: 0,
    greetingSaveFailed: 0,
  };
  readonly store: VoicemailStore;
  /** Users' own greetings; undefined when the overlay has no greeting Kind (host.greetings). */
  readonly greetings: GreetingStore | undefined;
  readonly summaries: VoicemailSummary;
  private readonly options: VoicemailOptions;
  private readonly numberAor: string;
  private readonly calls = new Map<string, Call>();
  /** Slots taken by calls being set up (a user check, a mailbox loading) or recordings being stored. */
  private reserved = 0;
  private readonly checked = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly host: VoicemailHost,
    options: Partial<VoicemailOptions> = {},
  ) {
    const o = { ...DEFAULT_VOICEMAIL_OPTIONS, ...options };
    checkInt('maxCalls', o.maxCalls, 1, 256);
    checkInt('maxRecordMs', o.maxRecordMs, 1000, MAX_VOICEMAIL_MS);
    checkInt('minRecordMs', o.minRecordMs, 0, 10_000);
    checkInt('ackTimeoutMs', o.ackTimeoutMs, 1000, 120_000);
    checkInt('maxRetrievalAudioMs', o.maxRetrievalAudioMs, 1000, 2_400_000);
    checkInt('retrievalLoadMs', o.retrievalLoadMs, 1000, 60_000);
    checkInt('recheckMs', o.recheckMs, 0, 86_400_000);
    checkInt('maxChecked', o.maxChecked, 1, 1_000_000);
    checkInt('greetingWaitMs', o.greetingWaitMs, 100, 10_000);
    if (o.noAnswerMs !== 0) checkInt('noAnswerMs', o.noAnswerMs, 1000, 300_000);
    if (!/^[A-Za-z0-9._*-]{1,64}$/.test(o.numberUser) || o.numberUser.toLowerCase().startsWith(CALL_USER_PREFIX)) throw new RangeError(`voicemail number user '${o.numberUser}': 1..64 letters, digits, '.', '_', '-', '*', not starting with '${CALL_USER_PREFIX}'`);
    this.options = o;
    this.numberAor = `sip:${o.numberUser}@${host.domain.toLowerCase()}`;
    this.store = new VoicemailStore({ storage: host.storage, selfNodeId: host.selfNodeId, wallClock: () => host.wallClock(), ...(host.sealing === undefined ? {} : { sealing: host.sealing }) }, { lifetimeS: o.lifetimeS, parallel: o.parallel });
    this.greetings = host.greetings === true ? new GreetingStore({ storage: host.storage, selfNodeId: host.selfNodeId, wallClock: () => host.wallClock(), random: host.random }, { parallel: o.parallel }) : undefined;
    this.summaries = new VoicemailSummary(
      {
        clock: host.clock,
        count: async (aor) => {
          const k = await this.store.keys(aor);
          return k.ok ? { ok: true, count: k.keys.length } : k;
        },
      },
      { ttlMs: o.summaryTtlMs },
    );
  }

  /** The message-summary source for the presence host (PresenceHost.messageSummary). */
  get messageSummary(): MessageSummarySource {
    return this.summaries;
  }

  /** The voicemail number's AoR. */
  get number(): string {
    return this.numberAor;
  }

  /** Calls running (or being set up, or being stored). */
  get active(): number {
    return this.calls.size + this.reserved;
  }

  // —— LocalServices ——

  claim(r: ServiceRequest): boolean {
    if (this.stopped) return false;
    const req = r.request;
    const token = callToken(req.uri);
    if (token !== undefined) {
      const call = this.calls.get(token);
      if (call !== undefined) {
        this.inDialog(r, call);
        return true;
      }
      if (tagOfParty(req.headers.get('to')) !== undefined) {
        this.reply(r, 481, 'Call/Transaction Does Not Exist - the voicemail call has ended');
        return true;
      }
      return false;
    }
    if (req.method !== 'INVITE' || r.fromPeer || r.aor === undefined || r.aor.toLowerCase() !== this.numberAor) return false;
    if (tagOfParty(req.headers.get('to')) !== undefined) {
      this.reply(r, 481, 'Call/Transaction Does Not Exist');
      return true;
    }
    void this.retrieve(r);
    return true;
  }

  divert(r: ServiceRequest, status: number): boolean {
    const req = r.request;
    if (this.stopped || req.method !== 'INVITE' || r.fromPeer || r.aor === undefined) return false;
    const aor = r.aor;
    if (!this.options.divertOn.includes(status) || !this.host.inOverlay(aor) || aor.toLowerCase() === this.numberAor) return false;
    if (tagOfParty(req.headers.get('to')) !== undefined || r.tx.finalResponse !== undefined) return false;
    if (this.active >= this.options.maxCalls) {
      this.stats.refusedBusy++;
      return false; // the failure goes upstream unchanged
    }
    // an offer voicemail cannot answer (no SDP, no PCMU/PCMA): the caller gets the failure as it was
    if (!usableOffer(req.body)) {
      this.stats.refusedSdp++;
      return false;
    }
    // a 404 says nobody is registered: is the name a user at all? (480, 486, 408: it registered)
    const exists = status === 404 ? (this.host.userExists?.(aor) ?? true) : true;
    if (exists === false) return false;
    if (exists === true) {
      this.answerRecording(r, aor);
      return true;
    }
    this.reserved++;
    void exists.then(
      (yes) => {
        this.reserved--;
        if (yes && !this.stopped) this.answerRecording(r, aor);
        else this.reply(r, status);
      },
      () => {
        this.reserved--;
        this.reply(r, status);
      },
    );
    return true;
  }

  /**
   * How long the proxy lets the phones of `r` ring before it cancels them and asks `divert(r, 408)`:
   * the configured time for INVITEs from our phones to users of the overlay, undefined otherwise.
   */
  noAnswerMs(r: ServiceRequest): number | undefined {
    const req = r.request;
    if (this.stopped || this.options.noAnswerMs === 0 || !this.options.divertOn.includes(408)) return undefined;
    if (req.method !== 'INVITE' || r.fromPeer || r.aor === undefined || !this.host.inOverlay(r.aor) || r.aor.toLowerCase() === this.numberAor) return undefined;
    // phones ringing for the AoR mean its user exists (it registered); no slot left: let them ring
    if (tagOfParty(req.headers.get('to')) !== undefined || this.active >= this.options.maxCalls) return undefined;
    return this.options.noAnswerMs;
  }

  /**
   * An ACK the transaction layer did not take (TransactionUser.onAck) whose Request-URI is one of our
   * calls' Contacts: the ACK of our 2xx. True when it was ours.
   */
  onAck(request: SipRequest): boolean {
    const token = callToken(request.uri);
    const call = token === undefined ? undefined : this.calls.get(token);
    if (call === undefined) return false;
    let seq: number;
    try {
      seq = cseqOf(request).seq;
    } catch {
      return true;
    }
    if (request.headers.get('call-id') !== call.dialog.callId || seq !== call.dialog.inviteSeq) return true;
    call.okTimer?.cancel();
    call.ackTimer?.cancel();
    call.okTimer = call.ackTimer = undefined;
    if (call.state !== 'answered') return true;
    call.state = 'confirmed';
    try {
      call.recording?.start();
      call.retrieval?.start();
    } catch (e) {
      this.host.logger?.warn({ err: e instanceof Error ? e.message : String(e) }, 'voicemail: the call media did not start');
      this.hangUp(call, 'media failure');
    }
    return true;
  }

  /** A phone of `aor` registered here (`fresh`: a new binding): tell it when voicemail waits. */
  onRegistered(aor: string, fresh: boolean): void {
    if (this.stopped || !this.host.inOverlay(aor)) return;
    const now = this.host.clock.now();
    const key = aor.toLowerCase();
    const last = this.checked.get(key);
    if (!fresh && last !== undefined && now - last < this.options.recheckMs) return;
    this.checked.delete(key);
    this.checked.set(key, now);
    while (this.checked.size > this.options.maxChecked) this.checked.delete(this.checked.keys().next().value!);
    // a phone that subscribes to message-summary does so just after its REGISTER: wait a moment, and
    // send nothing unsolicited to a user that subscribed meanwhile (notifyWaiting)
    this.host.clock.setTimer(UNSOLICITED_NOTIFY_DELAY_MS, () => {
      if (this.stopped) return;
      // asked afresh: voicemails other peers stored are not in our cache
      void this.summaries.count(aor, true).then((n) => {
        // phones subscribed here hear the count through their subscription (an unchanged one is not sent again)
        this.summaries.changed(aor, n);
        if (n > 0) void this.notifyWaiting(aor);
      });
    });
  }

  // —— the API (node/voicemail-route.ts) ——

  /** The voicemails of `aor`, oldest first. */
  async list(aor: string): Promise<{ ok: true; voicemails: VoicemailListing[] } | { ok: false; info: string }> {
    const r = await this.store.list(aor);
    if (!r.ok) return r;
    this.summaries.changed(aor, r.entries.length);
    return { ok: true, voicemails: r.entries.map((e) => ({ id: e.id, from: e.from, date: new Date(e.date).toISOString(), durationMs: e.durationMs, bytes: e.bytes })) };
  }

  /** One voicemail as a WAV file (PCM16, 8 kHz); 'not-found' when there is none of that id. */
  async download(aor: string, id: string): Promise<{ ok: true; wav: Uint8Array } | { ok: false; reason: 'not-found' | 'failed'; info: string }> {
    let key: Uint8Array;
    try {
      key = keyOfId(id);
    } catch (e) {
      return { ok: false, reason: 'not-found', info: e instanceof Error ? e.message : String(e) };
    }
    const entry = await this.store.entry(aor, key);
    if (entry === 'failed') return { ok: false, reason: 'failed', info: 'the index entry could not be fetched' };
    if (entry === undefined) return { ok: false, reason: 'not-found', info: `no voicemail ${id} for ${aor}` };
    const a = await this.store.audio(aor, entry);
    if (!a.ok) return { ok: false, reason: 'failed', info: a.info };
    return { ok: true, wav: encodeWav(g711Decode('pcmu', a.audio), 8000) };
  }

  /** Removes a voicemail of `aor` (the index entry, then the chunks). */
  async remove(aor: string, id: string): Promise<{ ok: true } | { ok: false; reason: 'not-found' | 'forbidden' | 'failed'; info: string }> {
    let key: Uint8Array;
    try {
      key = keyOfId(id);
    } catch (e) {
      return { ok: false, reason: 'not-found', info: e instanceof Error ? e.message : String(e) };
    }
    const entry = await this.store.entry(aor, key);
    if (entry === 'failed') return { ok: false, reason: 'failed', info: 'the index entry could not be fetched' };
    if (entry === undefined) return { ok: false, reason: 'not-found', info: `no voicemail ${id} for ${aor}` };
    const r = await this.store.remove(aor, id, entry);
    if (!r.ok) {
      this.stats.deleteFailed++;
      return r;
    }
    this.stats.deleted++;
    this.countChanged(aor, -1);
    return { ok: true };
  }

  /** The greeting of `aor` as a WAV file (PCM16, 8 kHz); 'not-found' when it has none of its own (or greetings are off). */
  async greeting(aor: string): Promise<{ ok: true; wav: Uint8Array; durationMs: number } | { ok: false; reason: 'not-found' | 'failed'; info: string }> {
    if (this.greetings === undefined) return { ok: false, reason: 'not-found', info: 'this overlay keeps no greetings of users (no P2PSIP-VOICEMAIL-GREETING Kind)' };
    const r = await this.greetings.load(aor);
    if (r.ok) return { ok: true, wav: encodeWav(g711Decode('pcmu', r.audio), 8000), durationMs: r.greeting.durationMs };
    return r.reason === 'none' ? { ok: false, reason: 'not-found', info: `${aor} has no greeting of its own (the default plays)` } : { ok: false, reason: 'failed', info: r.info };
  }

  /**
   * Stores `pcm` (PCM16, 8 kHz mono) as the greeting of `aor`. 'too-long': past MAX_GREETING_MS;
   * 'forbidden': the storing peer refused it (a closed overlay: no write grant of the user here);
   * 'off': the overlay keeps no greetings.
   */
  async saveGreeting(aor: string, pcm: Int16Array): Promise<{ ok: true; durationMs: number } | { ok: false; reason: 'off' | 'bad-audio' | 'too-long' | 'forbidden' | 'failed'; info: string }> {
    if (this.greetings === undefined) return { ok: false, reason: 'off', info: 'this overlay keeps no greetings of users (no P2PSIP-VOICEMAIL-GREETING Kind)' };
    if (pcm.length > MAX_GREETING_BYTES) return { ok: false, reason: 'too-long', info: `a greeting lasts at most ${MAX_GREETING_MS / 1000} s, this one ${(pcm.length / 8000).toFixed(1)} s` };
    if (pcm.length === 0) return { ok: false, reason: 'bad-audio', info: 'the greeting is empty' };
    const r = await this.greetings.save(aor, g711Encode('pcmu', pcm)).catch((e: unknown) => ({ ok: false as const, reason: 'failed' as const, info: e instanceof Error ? e.message : String(e) }));
    if (!r.ok) {
      this.stats.greetingSaveFailed++;
      this.host.logger?.warn({ aor, err: r.info, reason: r.reason }, 'voicemail: a greeting could not be stored');
      return r;
    }
    this.stats.greetingsSaved++;
    return { ok: true, durationMs: r.greeting.durationMs };
  }

  /** Back to the default greeting for `aor`. */
  async removeGreeting(aor: string): Promise<{ ok: true } | { ok: false; reason: 'not-found' | 'forbidden' | 'failed'; info: string }> {
    if (this.greetings === undefined) return { ok: false, reason: 'not-found', info: 'this overlay keeps no greetings of users (no P2PSIP-VOICEMAIL-GREETING Kind)' };
    const r = await this.greetings.remove(aor);
    if (r.ok) return r;
    return r.reason === 'none' ? { ok: false, reason: 'not-found', info: r.info } : { ok: false, reason: r.reason, info: r.info };
  }

  /** Ends every call (BYE) and refuses new ones. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const call of [...this.calls.values()]) this.hangUp(call, 'the peer is stopping');
  }

  /** Where things are, for /api/status. */
  status(): object {
    return { ...this.stats, calls: this.calls.size, reserved: this.reserved, watches: this.summaries.watchCount, number: this.numberAor, greetings: this.greetings === undefined ? null : { cached: this.greetings.cached } };
  }

  // —— recording ——

  private answerRecording(r: ServiceRequest, aor: string): void {
    if (this.greetings === undefined) {
      this.startRecording(r, aor, undefined);
      return;
    }
    // the user's own greeting, fetched before answering (the caller hears ringing meanwhile)
    this.reserved++;
    void this.ownGreeting(aor).then((greeting) => {
      this.reserved--;
      if (this.stopped) this.reply(r, 503, 'Service Unavailable - the peer is stopping');
      else this.startRecording(r, aor, greeting);
    });
  }

  /** The user's greeting as PCM16, or undefined (none, unreadable, or not within greetingWaitMs): the default plays. */
  private async ownGreeting(aor: string): Promise<Int16Array | undefined> {
    const store = this.greetings;
    if (store === undefined) return undefined;
    let timer: TimerHandle | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = this.host.clock.setTimer(this.options.greetingWaitMs, () => resolve('late'));
    });
    // a late fetch goes on: its audio lands in the store's cache for the next caller
    const loading = store.load(aor).catch((e: unknown) => ({ ok: false as const, reason: 'failed' as const, info: e instanceof Error ? e.message : String(e) }));
    const got = await Promise.race([loading, late]);
    timer?.cancel();
    if (got === 'late') {
      this.stats.greetingFallbacks++;
      this.host.logger?.warn({ aor, waitedMs: this.options.greetingWaitMs }, 'voicemail: the user\'s greeting was not fetched in time (the default plays)');
      return undefined;
    }
    if (!got.ok) {
      if (got.reason === 'failed') {
        this.stats.greetingFallbacks++;
        this.host.logger?.warn({ aor, err: got.info }, 'voicemail: the user\'s greeting could not be read (the default plays)');
      }
      return undefined;
    }
    this.stats.ownGreetings++;
    return g711Decode('pcmu', got.audio);
  }

  private startRecording(r: ServiceRequest, aor: string, greeting: Int16Array | undefined): void {
    const call = this.answer(r, 'record', aor);
    if (call === undefined) return;
    call.recording = new RecordingSession(this.mediaDeps(call), {
      audio: call.audio,
      ...(greeting === undefined ? {} : { greeting }),
      maxDurationMs: this.options.maxRecordMs,
      minDurationMs: this.options.minRecordMs,
      onFinished: (result) => this.recordingFinished(call, result),
    });
  }

  private recordingFinished(call: Call, result: RecordingResult): void {
    if (result.reason === 'max-duration' || result.reason === 'digit') this.sendBye(call, result.reason === 'digit' ? 'message recorded' : 'longest message reached');
    this.teardown(call);
    if (result.empty) {
      if (result.reason !== 'cancelled') this.stats.tooShort++;
      return;
    }
    let audio: Uint8Array;
    try {
      audio = g711Encode('pcmu', decodeWav(result.wav, { sampleRate: 8000 }).pcm);
    } catch (e) {
      this.stats.storeFailed++;
      this.host.logger?.warn({ err: e instanceof Error ? e.message : String(e) }, 'voicemail: the recording could not be read back');
      return;
    }
    void this.save(call, audio, result.durationMs);
  }

  private async save(call: Call, audio: Uint8Array, durationMs: number): Promise<void> {
    this.reserved++;
    try {
      const from = (call.r.request.headers.get('from') ?? '').replace(/;\s*tag=[^;]*/i, '').trim();
      const res = await this.store.save(call.aor, { from, durationMs, audio });
      if (!res.ok) {
        if (res.reason === 'full') this.stats.mailboxFull++;
        else this.stats.storeFailed++;
        this.host.logger?.warn({ aor: call.aor, err: res.info, reason: res.reason }, 'voicemail: a message could not be stored');
        return;
      }
      this.stats.recorded++;
      this.countChanged(call.aor, +1);
      if (this.host.registeredHere(call.aor)) await this.notifyWaiting(call.aor);
    } catch (e) {
      this.stats.storeFailed++;
      this.host.logger?.warn({ aor: call.aor, err: e instanceof Error ? e.message : String(e) }, 'voicemail: storing a message failed');
    } finally {
      this.reserved--;
    }
  }

  /** Our own change of a count: the cached one adjusted (or asked again), the watchers told. */
  private countChanged(aor: string, delta: number): void {
    const known = this.summaries.cached(aor);
    this.summaries.changed(aor, known === undefined ? undefined : Math.max(0, known + delta));
  }

  // —— retrieval ——

  private async retrieve(r: ServiceRequest): Promise<void> {
    const mailbox = r.user ?? (this.host.openOverlay ? this.fromAor(r) : undefined);
    if (mailbox === undefined || !this.host.inOverlay(mailbox)) {
      this.stats.retrievalRefused++;
      this.reply(r, 403, 'Forbidden - a mailbox is opened by its user (digest authentication)');
      return;
    }
    if (this.active >= this.options.maxCalls) {
      this.stats.refusedBusy++;
      this.reply(r, 503, 'Service Unavailable - too many voicemail calls', [['Retry-After', '10']]);
      return;
    }
    try {
      negotiateAudio(r.request.body);
    } catch (e) {
      this.refuseSdp(r, e);
      return;
    }
    if (!r.tryingSent) r.tx.respond(createResponse(r.tx.request, 100));
    this.reserved++;
    let loaded: { messages: MailboxMessage[]; entries: Map<string, VoicemailEntry> };
    try {
      loaded = await this.loadMailbox(mailbox);
    } finally {
      this.reserved--;
    }
    if (this.stopped) {
      this.reply(r, 503, 'Service Unavailable - the peer is stopping');
      return;
    }
    const call = this.answer(r, 'retrieve', mailbox);
    if (call === undefined) return;
    this.stats.retrievals++;
    call.entries = loaded.entries;
    const greetings = this.greetings;
    call.retrieval = new RetrievalSession(this.mediaDeps(call), {
      audio: call.audio,
      messages: loaded.messages,
      onDelete: (id) => void this.deleteHeard(call, id),
      onHangup: () => this.hangUp(call, 'goodbye'),
      ...(greetings === undefined ? {} : { onGreeting: async (pcm: Int16Array) => (await this.saveGreeting(mailbox, pcm)).ok, menu: { maxGreetingMs: MAX_GREETING_MS } }),
    });
    // the user is here (its write grant too): a greeting near the end of its lifetime is stored again
    if (greetings !== undefined) {
      void greetings.renew(mailbox).then(
        (res) => {
          if (!res.ok && res.reason !== 'none') this.host.logger?.warn({ aor: mailbox, err: res.info }, 'voicemail: the greeting could not be renewed');
        },
        () => undefined,
      );
    }
  }

  /** The mailbox's messages with their audio, oldest first, within the audio and time budgets. */
  private async loadMailbox(aor: string): Promise<{ messages: MailboxMessage[]; entries: Map<string, VoicemailEntry> }> {
    const messages: MailboxMessage[] = [];
    const entries = new Map<string, VoicemailEntry>();
    let timer: TimerHandle | undefined;
    let late = false;
    const deadline = new Promise<void>((resolve) => {
      timer = this.host.clock.setTimer(this.options.retrievalLoadMs, () => {
        late = true;
        resolve();
      });
    });
    const work = (async (): Promise<void> => {
      const listed = await this.store.list(aor);
      if (!listed.ok || late) return;
      this.summaries.changed(aor, listed.entries.length);
      const chosen: VoicemailEntry[] = [];
      let budget = this.options.maxRetrievalAudioMs * 8; // µ-law bytes
      for (const e of listed.entries) {
        if (e.bytes > budget) break;
        budget -= e.bytes;
        chosen.push(e);
      }
      const audio: Array<Uint8Array | undefined> = new Array(chosen.length);
      // messages one after the other (each fetches its chunks `parallel` at once)
      await runBounded(chosen, 1, async (e, i) => {
        if (late) return false;
        const a = await this.store.audio(aor, e);
        if (a.ok) audio[i] = a.audio;
        else this.host.logger?.warn({ aor, id: e.id, err: a.info }, 'voicemail: a message could not be loaded (skipped)');
        return true;
      });
      for (const [i, e] of chosen.entries()) {
        const a = audio[i];
        if (a === undefined) continue;
        messages.push({ id: e.id, pcm: g711Decode('pcmu', a), from: e.from, date: e.date });
        entries.set(e.id, e);
      }
    })().catch((e: unknown) => {
      this.host.logger?.warn({ aor, err: e instanceof Error ? e.message : String(e) }, 'voicemail: loading a mailbox failed');
    });
    await Promise.race([work, deadline]);
    timer?.cancel();
    late = true;
    return { messages: [...messages], entries: new Map(entries) };
  }

  private async deleteHeard(call: Call, id: string): Promise<void> {
    const entry = call.entries?.get(id);
    const r = await this.store.remove(call.aor, id, entry).catch((e: unknown) => ({ ok: false as const, reason: 'failed' as const, info: e instanceof Error ? e.message : String(e) }));
    if (!r.ok) {
      this.stats.deleteFailed++;
      this.host.logger?.warn({ aor: call.aor, id, err: r.info }, 'voicemail: a message could not be deleted');
      return;
    }
    this.stats.deleted++;
    this.countChanged(call.aor, -1);
  }

  // —— the call leg ——

  /** Answers `r` with our SDP: the call, or undefined when refused (the answer sent). */
  private answer(r: ServiceRequest, kind: Call['kind'], aor: string): Call | undefined {
    if (r.tx.finalResponse !== undefined || r.tx.state === 'terminated') return undefined; // cancelled meanwhile
    let audio: NegotiatedAudio;
    try {
      audio = negotiateAudio(r.request.body);
    } catch (e) {
      this.refuseSdp(r, e);
      return undefined;
    }
    let seq: number;
    try {
      seq = cseqOf(r.request).seq;
    } catch {
      this.reply(r, 400, 'Bad Request - Unreadable CSeq');
      return undefined;
    }
    const d = callDialog(r.request, r.toTag, seq);
    if (!d.ok) {
      this.reply(r, 400, d.reason);
      return undefined;
    }
    let token = CALL_USER_PREFIX + randomToken(this.host.random, TOKEN_LENGTH);
    while (this.calls.has(token)) token = CALL_USER_PREFIX + randomToken(this.host.random, TOKEN_LENGTH);
    let call: Call | undefined;
    const pair = this.host.ports.take((component, data, from) => {
      if (call !== undefined && component === 0) this.onRtp(call, data, from);
    });
    if (pair === undefined) {
      this.stats.refusedNoPort++;
      this.reply(r, 503, 'Service Unavailable - no media port free for voicemail', [['Retry-After', '10']]);
      return undefined;
    }
    let sdp: string;
    let contact: string;
    try {
      contact = this.host.contactUri(token, r);
      sdp = buildAnswerSdp(audio, { address: this.host.mediaAddress(r), port: pair.port, sessionId: String(this.host.random.u32()) });
    } catch (e) {
      pair.close();
      this.host.logger?.warn({ err: e instanceof Error ? e.message : String(e) }, 'voicemail: no answer could be built');
      this.reply(r, 500, 'Server Internal Error - voicemail media');
      return undefined;
    }
    call = {
      token,
      kind,
      aor,
      r,
      dialog: d.dialog,
      contact,
      audio,
      pair,
      remote: { host: audio.remote.address, port: audio.remote.port },
      latched: false,
      state: 'answered',
      ok: undefined,
      okTimer: undefined,
      okInterval: T1,
      ackTimer: undefined,
    };
    const headers: Array<[string, string]> = [['Contact', `<${contact}>`]];
    for (const rr of r.request.headers.getAll('record-route')) headers.push(['Record-Route', rr]);
    headers.push(['Allow', VOICEMAIL_ALLOW]);
    const ok = createResponse(r.tx.request, 200, 'OK', { toTag: r.toTag, headers, body: new TextEncoder().encode(sdp), contentType: 'application/sdp' });
    call.ok = ok;
    this.calls.set(token, call);
    if (kind === 'record') this.stats.answered++;
    r.tx.respond(ok);
    const c = call;
    c.okTimer = this.host.clock.setTimer(T1, () => this.retransmitOk(c));
    c.ackTimer = this.host.clock.setTimer(this.options.ackTimeoutMs, () => {
      c.ackTimer = undefined;
      if (c.state !== 'answered') return;
      this.stats.noAck++;
      this.hangUp(c, 'no ACK');
    });
    return call;
  }

  /** RFC 3261 §13.3.1.4: the 2xx again at T1, 2·T1 … up to T2, until the ACK. */
  private retransmitOk(call: Call): void {
    call.okTimer = undefined;
    if (call.state !== 'answered' || call.ok === undefined || call.r.tx.state === 'terminated') return;
    call.r.tx.respond(call.ok);
    call.okInterval = Math.min(call.okInterval * 2, T2);
    call.okTimer = this.host.clock.setTimer(call.okInterval, () => this.retransmitOk(call));
  }

  private onRtp(call: Call, data: Uint8Array, from: UdpAddr): void {
    if (call.state === 'ended') return;
    if (!call.latched) {
      call.latched = true;
      call.remote = { host: from.host, port: from.port };
    } else if (call.remote.host !== from.host || call.remote.port !== from.port) {
      return; // symmetric RTP: only the latched source
    }
    if (call.state !== 'confirmed') return;
    call.recording?.receive(data);
    call.retrieval?.receive(data);
  }

  private mediaDeps(call: Call): { clock: Clock; random: Random; host: { send(packet: Uint8Array): void } } {
    return {
      clock: this.host.clock,
      random: this.host.random,
      host: {
        send: (packet) => {
          if (call.state === 'ended' || call.pair === undefined) return;
          call.pair.send(0, packet, call.remote);
        },
      },
    };
  }

  /** An in-dialog request to one of our calls (its Request-URI is the call's Contact). */
  private inDialog(r: ServiceRequest, call: Call): void {
    const req = r.request;
    if (req.headers.get('call-id') !== call.dialog.callId || tagOfParty(req.headers.get('from')) !== call.dialog.remoteTag) {
      this.reply(r, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    switch (req.method) {
      case 'BYE':
        this.reply(r, 200, 'OK');
        this.callerHungUp(call);
        return;
      case 'INVITE':
        this.reply(r, 488, 'Not Acceptable Here - the voicemail keeps its session as answered', [['Warning', '399 p2psip "voicemail calls are not modified"']]);
        return;
      case 'INFO':
        if (req.body.length === 0) this.reply(r, 200, 'OK');
        else this.reply(r, 415, 'Unsupported Media Type - keys are taken as RTP telephone-events (RFC 4733)', [['Accept', 'application/sdp']]);
        return;
      case 'OPTIONS':
        this.reply(r, 200, 'OK', [['Allow', VOICEMAIL_ALLOW]]);
        return;
      default:
        this.reply(r, 405, 'Method Not Allowed', [['Allow', VOICEMAIL_ALLOW]]);
    }
  }

  /** The caller's BYE: the recording ends (and is stored), the menu stops. */
  private callerHungUp(call: Call): void {
    if (call.state === 'ended') return;
    call.okTimer?.cancel();
    call.ackTimer?.cancel();
    if (call.recording !== undefined) {
      call.recording.bye(); // → recordingFinished → teardown
      return;
    }
    call.retrieval?.bye(); // a greeting being recorded is stored when long enough
    this.teardown(call);
  }

  /** We end the call: BYE, then the media stops (a recording in progress is cancelled, not stored). */
  private hangUp(call: Call, why: string): void {
    if (call.state === 'ended') return;
    this.sendBye(call, why);
    if (call.recording !== undefined) {
      call.recording.cancel(); // → recordingFinished → teardown
      this.teardown(call); // (idempotent) when the recording had finished before
      return;
    }
    call.retrieval?.close();
    this.teardown(call);
  }

  private teardown(call: Call): void {
    if (call.state === 'ended') return;
    call.state = 'ended';
    call.okTimer?.cancel();
    call.ackTimer?.cancel();
    call.okTimer = call.ackTimer = undefined;
    call.pair?.close();
    call.pair = undefined;
    this.calls.delete(call.token);
  }

  private sendBye(call: Call, why: string): void {
    if (call.state === 'ended') return;
    let bye: SipRequest;
    try {
      bye = buildBye(call.dialog, call.contact, why);
    } catch (e) {
      this.stats.byeFailed++;
      this.host.logger?.warn({ err: e instanceof Error ? e.message : String(e) }, 'voicemail: no BYE could be built');
      return;
    }
    const inbound = call.r.tx.inbound;
    void this.host.send(bye, { destination: inbound.source, flowId: inbound.flowId }).then(
      (status) => {
        if (status >= 300) this.stats.byeFailed++;
      },
      () => {
        this.stats.byeFailed++;
      },
    );
  }

  // —— message waiting ——

  /** An unsolicited NOTIFY (RFC 3842) to the user's phones: what waits. */
  private async notifyWaiting(aor: string): Promise<void> {
    // a phone subscribed here gets the subscription's NOTIFY; an unsolicited one besides it is refused
    // by phones that take only NOTIFYs of their own subscriptions (baresip: 481)
    if (this.summaries.watched(aor)) return;
    try {
      const s = await this.summaries.summary(aor);
      const body = new TextEncoder().encode(messageSummaryBody(aor, s));
      const headers = new SipHeaders([
        ['From', `<${this.numberAor}>;tag=${randomToken(this.host.random, 12)}`],
        ['To', `<${aor}>`],
        ['Call-ID', `${randomToken(this.host.random, 20)}@p2psip`],
        ['CSeq', '1 NOTIFY'],
        ['Max-Forwards', '70'],
        ['Event', 'message-summary'],
        ['Subscription-State', 'active'],
        // RFC 6665 §8.2.1: a NOTIFY carries a Contact (ours; nothing is sent back to it)
        ['Contact', `<${this.numberAor}>`],
        ['Content-Type', MESSAGE_SUMMARY_CONTENT_TYPE],
        ['Content-Length', String(body.length)],
      ]);
      const answer = await this.host.originate({ kind: 'request', method: 'NOTIFY', uri: parseUri(aor), version: 'SIP/2.0', headers, body });
      if (answer.status >= 200 && answer.status < 300) this.stats.notifies++;
      else this.stats.notifyFailed++;
    } catch (e) {
      this.stats.notifyFailed++;
      this.host.logger?.warn({ aor, err: e instanceof Error ? e.message : String(e) }, 'voicemail: the message-summary NOTIFY failed');
    }
  }

  // —— helpers ——

  private reply(r: ServiceRequest, status: number, reason?: string, headers: Array<[string, string]> = []): void {
    if (r.tx.finalResponse !== undefined && status >= 200) return;
    r.tx.respond(createResponse(r.tx.request, status, reason, { toTag: r.toTag, headers }));
  }

  private refuseSdp(r: ServiceRequest, e: unknown): void {
    this.stats.refusedSdp++;
    const why = e instanceof VoicemailError ? e.message : 'SDP offer unusable';
    this.reply(r, 488, 'Not Acceptable Here - the voicemail takes PCMU or PCMA on RTP/AVP', [['Warning', `399 p2psip "${why.replace(/["\\\r\n]/g, '').slice(0, 160)}"`]]);
  }

  private fromAor(r: ServiceRequest): string | undefined {
    return fromAorOf(r.request, this.host.canonicalAor === undefined ? undefined : (uri) => this.host.canonicalAor!(uri));
  }

}

/** The call token of a Request-URI naming one of our calls (`sip:vm-<token>@…`), else undefined. */
export function callToken(uri: Uri): string | undefined {
  if (!isSipUri(uri) || uri.user === undefined) return undefined;
  const u = uri.user.toLowerCase();
  return u.startsWith(CALL_USER_PREFIX) && /^vm-[a-z0-9]{16}$/.test(u) ? u : undefined;
}

/** True when voicemail can answer this offer (an audio stream with PCMU or PCMA on RTP/AVP). */
function usableOffer(body: Uint8Array): boolean {
  try {
    negotiateAudio(body);
    return true;
  } catch {
    return false;
  }
}
