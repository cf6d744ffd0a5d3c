/**
 * Wireshark's view of an overlay capture across NATs: the overlay UDP port carries STUN (ICE checks,
 * Binding), TURN (Allocate, CreatePermission, ChannelBind, Send/Data indications, ChannelData) and
 * DTLS-UDP-SR records (RFC 6940 §6.6.4) side by side (RFC 7983 demultiplexing by the first byte); the
 * overlay TCP port carries TLS-TCP-FH-NO-ICE. tshark passes tally what each dissector decoded and list
 * malformed packets and expert warnings (PROBLEM_FILTER of tshark.ts).
 *
 * How tshark 4.0 is told (`overlayDecodeArgs`):
 * - `-d udp.port==P,stun`: STUN/TURN on the overlay port (its default entry there is reload-framing,
 *   which refuses STUN and DTLS). What the STUN dissector refuses — a DTLS record, first byte 20..63 —
 *   falls through to the enabled `dtls_udp` heuristic, as do records sent straight to a TURN relay port;
 * - `--enable-heuristic dtls_stun` and `--enable-heuristic stun_turn`: the payload of ChannelData and
 *   of Send/Data indications is handed to the DTLS resp. STUN dissector (both heuristics are off by
 *   default: without them a relayed DTLS record or ICE check is shown as bare data);
 * - `-o tls.keylog_file:<NSS key log>`: DTLS (and TLS) sessions are decrypted; decrypted DTLS payload
 *   goes to reload-framing through its `dtls` heuristic (on by default), and on to RELOAD, which
 *   reassembles §6.7 fragments;
 * - `-d tcp.port==P,tls` plus an RSA-keys-list entry naming reload-framing for the port (as
 *   decodeReloadOverTls in tshark.ts): the TLS links decrypt into RELOAD as well.
 *
 * One DTLS session per pass: our DTLS server (werift-dtls 0.5, flight4.js) sends every ServerHello
 * with the same one-byte session_id 0x00. Wireshark looks a master secret up by Session ID before
 * Client Random, so with every session's key in one key log it decrypts the first DTLS session of the
 * capture and then "resumes" that session for every later ServerHello carrying 0x00: wrong keys, the
 * later sessions stay encrypted (silently: no expert info). A pass whose key log holds one DTLS
 * session (plus the TLS lines) caches nothing before that session, so it decrypts exactly that one.
 * `withAllKeysAtOnce` measures the single-key-log view for the record.
 *
 * One known limit of Wireshark's RELOAD dissector, told apart precisely (`reassemblyCollisions`): it
 * reassembles §6.7 fragments in one table keyed by the transaction ID and the two IP addresses only
 * (packet-reload.c: `fragment_add_check(…, transaction_id[0]^transaction_id[1], …)` on a table
 * registered with `addresses_reassembly_table_functions`) — not by port, transport or message. A
 * request and its answer carry the same transaction ID (RFC 6940 §6.3.2), and intermediate peers
 * forward fragments as they are (§6.7), while a DTLS-UDP-SR link fragments what it forwards above
 * 1,168 bytes. Seen about one run in five (2026-12-06, capture kept with P2PSIP_KEEP_CAPTURE): the
 * symmetric peer forwarded a fragment of pr1's Attach request to the bootstrap peer over its TLS
 * bootstrap link (TCP, frame 413) and, 4 ms later, the Attach answer back to pr1 over a DTLS link
 * relayed by the bootstrap peer's TURN server (UDP ChannelData, frames 417–418): the same two
 * addresses, the same transaction ID, so Wireshark joined the request's first fragment to the
 * answer's ("Fragment overlap … Conflicting data") and the result, shown as "Attach Request", threw:
 * "[Malformed Packet]". With frame 413 cut out of the capture the same frames reassemble into a clean
 * "Attach Response", and the request decodes cleanly at the hops before. So a malformed frame counts
 * as such a collision only when all of this holds: Wireshark's reassembly of it reports conflicting
 * overlapping fragments, some of those fragments came over another transport stream (another link
 * between the same two hosts), and with exactly those frames removed the frame decodes as a RELOAD
 * message with no malformation, no expert warning and no overlap. Anything else stays a problem.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessScope } from '../../../harness/process-scope.js';
import { MessageCode } from '../../../src/reload/codec/index.js';
import { CLASS, METHOD } from './stun-capture-check.js';
import { PROBLEM_FILTER, tsharkLines } from './tshark.js';

export interface OverlayDecodeOptions {
  /** The overlay port (UDP: STUN/TURN/DTLS; TCP: TLS). */
  readonly port: number;
  /** NSS key log file for this pass. */
  readonly keylogFile: string;
  /** Any readable RSA private key (PEM): the RSA-keys-list entry that maps the TLS port to reload-framing needs one; unused (ECDHE). */
  readonly rsaKeyFile: string;
  /** The server address of that entry (the port association holds for every address). */
  readonly tlsServer: string;
}

export function overlayDecodeArgs(o: OverlayDecodeOptions): string[] {
  return [
    '-d', `udp.port==${o.port},stun`,
    '--enable-heuristic', 'dtls_stun',
    '--enable-heuristic', 'stun_turn',
    '-o', `tls.keylog_file:${o.keylogFile}`,
    '-d', `tcp.port==${o.port},tls`,
    // the capture's sync markers (lab-capture.ts: text with random hex, sent to the discard port) are
    // data; a heuristic once took one for a malformed Elasticsearch Zen Ping
    '-d', 'udp.port==9,data',
    '-o', `uat:ssl_keys:"${o.tlsServer}","${o.port}","reload-framing","${o.rsaKeyFile}",""`,
  ];
}

export interface DtlsSessionView {
  /** CLIENT_RANDOM of the session (hex). */
  readonly clientRandom: string;
  /** Finished messages decoded: they travel in epoch 1, so only a decrypted record shows one. */
  readonly finished: number;
  /** RELOAD framing (§6.6.3) decrypted from this session's records: 128 data, 129 ack. */
  readonly framing: ReadonlyMap<number, number>;
  /** Whole RELOAD messages (fragments reassembled) by message name. */
  readonly reload: ReadonlyMap<string, number>;
}

export interface OverlayDissection {
  readonly frames: number;
  /** STUN messages by "Method class" (e.g. "Binding request"), as sent on the wire (not inside TURN). */
  readonly stun: ReadonlyMap<string, number>;
  /** STUN messages carried inside TURN (ChannelData, Send/Data indications): relayed ICE checks. */
  readonly stunInTurn: ReadonlyMap<string, number>;
  readonly channelData: number;
  /** Binding requests with ICE's PRIORITY and ICE-CONTROLLING/ICE-CONTROLLED (RFC 8445 §7.1.1), direct or relayed. */
  readonly iceChecks: number;
  /** ... of which carry USE-CANDIDATE. */
  readonly useCandidate: number;
  /** DTLS records by content type (20 ChangeCipherSpec, 21 alert, 22 handshake, 23 application data). */
  readonly dtlsRecords: ReadonlyMap<number, number>;
  /** DTLS handshake messages readable without keys, by type (1 ClientHello, 3 HelloVerifyRequest, 2 ServerHello, ...). */
  readonly dtlsHandshakes: ReadonlyMap<number, number>;
  /** session_id values of the ServerHellos (hex; '' = empty). */
  readonly serverHelloSessionIds: ReadonlyMap<string, number>;
  /** One entry per DTLS session of the key log, each decrypted in its own pass. */
  readonly dtlsSessions: readonly DtlsSessionView[];
  /** Sums over the sessions. */
  readonly dtlsFraming: ReadonlyMap<number, number>;
  readonly reloadOverDtls: ReadonlyMap<string, number>;
  /** RELOAD framing records decrypted when one key log holds every DTLS session (see the file comment). */
  readonly withAllKeysAtOnce: number;
  /** RELOAD messages inside TLS (TCP), by name. */
  readonly reloadOverTls: ReadonlyMap<string, number>;
  readonly tlsRecords: number;
  /** Malformed or warned packets in any pass ("frame<TAB>protocol<TAB>info<TAB>expert"). */
  readonly problems: readonly string[];
  /**
   * Malformed packets that are Wireshark's reassembly key collision (file comment), each verified by
   * decoding it cleanly without the fragments of the other link: "frame (info): joined with frames …".
   */
  readonly reassemblyCollisions: readonly string[];
  /**
   * Diagnosis of the UDP conversations whose DTLS application-data records were not all decrypted
   * (none when every record was): the conversation, its counts, the handshake messages seen in the
   * clear there (ClientHello/ServerHello randoms, first 8 bytes) and whether the key logs hold a line
   * for each ClientHello random. Printed by the test before its assertion fails, so that a failure in
   * CI tells which session, and why, without the capture.
   */
  readonly undecrypted: readonly string[];
}

export interface DissectOptions {
  readonly port: number;
  /** Directory for the per-pass key logs. */
  readonly dir: string;
  /** The TLS links' key log lines (Node's --tls-keylog). */
  readonly tlsKeyLines: readonly string[];
  /** The DTLS sessions' key log lines (SSLKEYLOGFILE: CLIENT_RANDOM <random> <master secret>). */
  readonly dtlsKeyLines: readonly string[];
  readonly rsaKeyFile: string;
  readonly tlsServer: string;
}

const FIELDS = [
  'frame.number',
  'ip.proto',
  'stun.channel',
  'stun.type.method',
  'stun.type.class',
  'stun.att.priority',
  'stun.att.type',
  'dtls.record.content_type',
  'dtls.handshake.type',
  'dtls.handshake.session_id',
  'reload_framing.type',
  'reload.message.code',
  'tls.record.content_type',
  'udp.stream',
  'ip.src',
  'udp.srcport',
  'ip.dst',
  'udp.dstport',
  'dtls.handshake.random',
] as const;
type Field = (typeof FIELDS)[number];

const METHOD_NAME = new Map<string, string>(Object.entries(METHOD).map(([name, v]) => [v, name]));
const CLASS_NAME = new Map<string, string>(Object.entries(CLASS).map(([name, v]) => [v, name]));
const MESSAGE_NAME = new Map<number, string>([...Object.entries(MessageCode).map(([name, v]) => [v, name] as const), [0xffff, 'error']]);
const HANDSHAKE_FINISHED = 20;
const SERVER_HELLO = 2;

/** "Binding request", "ChannelBind success", ... */
export function stunName(method: string, cls: string): string {
  return `${METHOD_NAME.get(method) ?? method} ${CLASS_NAME.get(cls) ?? cls}`;
}

function bump<K>(m: Map<K, number>, k: K, n = 1): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

type Row = (f: Field) => string[];

async function rows(scope: ProcessScope, file: string, decode: readonly string[]): Promise<Row[]> {
  const lines = await tsharkLines(scope, ['-r', file, '-n', ...decode, '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=|', ...FIELDS.flatMap((f) => ['-e', f])]);
  return lines
    .map((l) => l.split('\t'))
    .filter((cols) => /^\d+$/.test(cols[0] ?? ''))
    .map((cols) => (f: Field) => (cols[FIELDS.indexOf(f)] ?? '').split('|').filter((x) => x !== ''));
}

async function problems(scope: ProcessScope, file: string, decode: readonly string[]): Promise<string[]> {
  const lines = await tsharkLines(scope, ['-r', file, '-n', ...decode, '-Y', PROBLEM_FILTER, '-T', 'fields', '-E', 'separator=/t', '-e', 'frame.number', '-e', '_ws.col.Protocol', '-e', '_ws.col.Info', '-e', '_ws.expert.message']);
  return lines.filter((l) => /^\d+\t/.test(l));
}

/** Fields of chosen frames, one array of values per field (tshark's `occurrence=a`, `|` between values). */
async function frameFields(scope: ProcessScope, file: string, decode: readonly string[], filter: string, fields: readonly string[]): Promise<string[][][]> {
  const lines = await tsharkLines(scope, ['-r', file, '-n', ...decode, '-Y', filter, '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=|', ...fields.flatMap((f) => ['-e', f])]);
  return lines.map((l) => l.split('\t')).filter((c) => /^\d+$/.test(c[0] ?? '')).map((c) => fields.map((_, i) => (c[i] ?? '').split('|').filter((x) => x !== '')));
}

/**
 * Splits a pass's problems into real ones and Wireshark's RELOAD reassembly key collisions (see the
 * file comment for the case and its evidence). `dir` holds the trimmed captures of the check.
 */
async function separateReassemblyCollisions(scope: ProcessScope, file: string, decode: readonly string[], found: readonly string[], dir: string): Promise<{ problems: string[]; collisions: string[] }> {
  const out = { problems: [] as string[], collisions: [] as string[] };
  const streamOf = (tcp: string[], udp: string[]): string => (tcp[0] !== undefined ? `tcp ${tcp[0]}` : udp[0] !== undefined ? `udp ${udp[0]}` : '?');
  for (const line of found) {
    const frame = line.split('\t')[0]!;
    const verdict = await (async (): Promise<string | undefined> => {
      const [f] = await frameFields(scope, file, decode, `frame.number == ${frame}`, ['frame.number', 'frame.time_epoch', 'reload.fragment.overlap.conflict', 'reload.fragment', 'tcp.stream', 'udp.stream']);
      if (f === undefined || f[2]!.length === 0 || f[3]!.length === 0) return undefined; // no conflicting overlap in its reassembly
      const own = streamOf(f[4]!, f[5]!);
      const parts = await frameFields(scope, file, decode, f[3]!.map((n) => `frame.number == ${n}`).join(' || '), ['frame.number', 'tcp.stream', 'udp.stream']);
      const foreign = parts.filter((p) => streamOf(p[1]!, p[2]!) !== own).map((p) => p[0]![0]!);
      if (foreign.length === 0) return undefined; // every fragment from its own link: not the known case
      const trimmed = join(dir, `without-${foreign.join('-')}.pcapng`);
      await tsharkLines(scope, ['-r', file, '-n', '-Y', `!(${foreign.map((n) => `frame.number == ${n}`).join(' || ')})`, '-w', trimmed]);
      const [again] = await frameFields(scope, trimmed, decode, `frame.time_epoch == ${f[1]![0]!}`, ['frame.number', '_ws.malformed', '_ws.expert.severity', 'reload.fragment.overlap', 'reload.message.code', '_ws.col.Info']);
      if (again === undefined || again[1]!.length > 0 || again[3]!.length > 0 || again[4]!.length === 0) return undefined;
      // an expert note below warning (e.g. the "Duplicated original message" of an SR retransmission) is no problem
      if (again[2]!.some((sev) => Number(sev) >= EXPERT_WARNING)) return undefined;
      return `frame ${frame} (${line.split('\t')[2] ?? ''}) joined with frames ${foreign.join(', ')} of another link; without them: ${again[5]!.join(' ')}`;
    })();
    if (verdict === undefined) out.problems.push(line);
    else out.collisions.push(verdict);
  }
  return out;
}

/** Wireshark's expert severity of a warning (_ws.expert.severity values: chat 2097152, note 4194304, warning 6291456, error 8388608). */
const EXPERT_WARNING = 6291456;

const isDtls = (r: Row): boolean => r('dtls.record.content_type').length > 0;
const overTcp = (r: Row): boolean => r('ip.proto')[0] === '6';

export async function dissectOverlayCapture(scope: ProcessScope, file: string, o: DissectOptions): Promise<OverlayDissection> {
  const decodeWith = (name: string, lines: readonly string[]): string[] => {
    const keylogFile = join(o.dir, `${name}.keylog`);
    writeFileSync(keylogFile, lines.map((l) => `${l}\n`).join(''));
    return overlayDecodeArgs({ port: o.port, keylogFile, rsaKeyFile: o.rsaKeyFile, tlsServer: o.tlsServer });
  };
  const sessions = [...new Map(o.dtlsKeyLines.map((l) => [l.split(' ')[1] ?? l, l])).entries()];

  // Pass 0: TLS keys only — STUN/TURN, DTLS in the clear (records, handshakes before ChangeCipherSpec), RELOAD over TLS.
  const base = decodeWith('tls-only', o.tlsKeyLines);
  const stun = new Map<string, number>();
  const stunInTurn = new Map<string, number>();
  const dtlsRecords = new Map<number, number>();
  const dtlsHandshakes = new Map<number, number>();
  const serverHelloSessionIds = new Map<string, number>();
  const reloadOverTls = new Map<string, number>();
  let channelData = 0;
  let iceChecks = 0;
  let useCandidate = 0;
  let tlsRecords = 0;
  const baseRows = await rows(scope, file, base);
  /** Per UDP conversation (and TURN channel): application-data records, handshakes in the clear, its addresses. */
  const streams = new Map<string, { appData: number; decrypted: number; handshakes: string[]; where: string; firstFrame: string }>();
  const streamKey = (r: Row): string => `${r('udp.stream')[0] ?? '?'}${r('stun.channel').length > 0 ? `/ch${r('stun.channel')[0]}` : ''}`;
  for (const r of baseRows) {
    if (isDtls(r) && r('udp.stream').length > 0) {
      const k = streamKey(r);
      let v = streams.get(k);
      if (v === undefined) {
        v = { appData: 0, decrypted: 0, handshakes: [], firstFrame: r('frame.number')[0] ?? '?', where: `${r('ip.src')[0]}:${r('udp.srcport')[0]} → ${r('ip.dst')[0]}:${r('udp.dstport')[0]}${r('stun.channel').length > 0 ? ` in ChannelData ${r('stun.channel')[0]}` : ''}` };
        streams.set(k, v);
      }
      v.appData += r('dtls.record.content_type').filter((t) => t === '23').length;
      const randoms = r('dtls.handshake.random');
      r('dtls.handshake.type').forEach((t) => {
        if (t === '1' || t === '2') v.handshakes.push(`frame ${r('frame.number')[0]} ${t === '1' ? 'ClientHello' : 'ServerHello'} ${(randoms.shift() ?? '?').slice(0, 16)}`);
      });
    }
    const methods = r('stun.type.method');
    const classes = r('stun.type.class');
    // A ChannelData frame carries STUN only inside; otherwise the first message is the one on the wire.
    const isChannelData = r('stun.channel').length > 0;
    if (isChannelData) channelData++;
    methods.forEach((m, i) => bump(isChannelData || i > 0 ? stunInTurn : stun, stunName(m, classes[i] ?? '')));
    const atts = r('stun.att.type');
    const bindingRequest = methods.some((m, i) => m === METHOD.Binding && classes[i] === CLASS.request);
    if (bindingRequest && r('stun.att.priority').length > 0 && (atts.includes('0x802a') || atts.includes('0x8029'))) {
      iceChecks++;
      if (atts.includes('0x0025')) useCandidate++;
    }
    for (const t of r('dtls.record.content_type')) bump(dtlsRecords, Number(t));
    const hs = r('dtls.handshake.type').map(Number);
    for (const t of hs) bump(dtlsHandshakes, t);
    if (hs.includes(SERVER_HELLO)) bump(serverHelloSessionIds, r('dtls.handshake.session_id')[0] ?? '');
    tlsRecords += r('tls.record.content_type').length;
    if (overTcp(r)) for (const c of r('reload.message.code')) bump(reloadOverTls, MESSAGE_NAME.get(Number(c)) ?? `code ${c}`);
  }
  const collisions: string[] = [];
  const problemsOf = async (decode: readonly string[]): Promise<string[]> => {
    const r = await separateReassemblyCollisions(scope, file, decode, await problems(scope, file, decode), o.dir);
    collisions.push(...r.collisions);
    return r.problems;
  };
  const found = await problemsOf(base);

  // One pass per DTLS session (see the file comment).
  const dtlsSessions: DtlsSessionView[] = [];
  const dtlsFraming = new Map<number, number>();
  const reloadOverDtls = new Map<string, number>();
  for (const [i, [clientRandom, line]] of sessions.entries()) {
    const decode = decodeWith(`dtls-session-${i}`, [...o.tlsKeyLines, line]);
    const framing = new Map<number, number>();
    const reload = new Map<string, number>();
    let finished = 0;
    for (const r of await rows(scope, file, decode)) {
      if (!isDtls(r)) continue;
      finished += r('dtls.handshake.type').filter((t) => Number(t) === HANDSHAKE_FINISHED).length;
      for (const t of r('reload_framing.type')) bump(framing, Number(t));
      const st = streams.get(streamKey(r));
      if (st !== undefined) st.decrypted += r('reload_framing.type').length;
      for (const c of r('reload.message.code')) bump(reload, MESSAGE_NAME.get(Number(c)) ?? `code ${c}`);
    }
    for (const [k, v] of framing) bump(dtlsFraming, k, v);
    for (const [k, v] of reload) bump(reloadOverDtls, k, v);
    dtlsSessions.push({ clientRandom, finished, framing, reload });
    found.push(...(await problemsOf(decode)));
  }

  // For the record: every DTLS key in one key log.
  let withAllKeysAtOnce = 0;
  for (const r of await rows(scope, file, decodeWith('all-keys', [...o.tlsKeyLines, ...sessions.map(([, l]) => l)]))) {
    if (isDtls(r)) withAllKeysAtOnce += r('reload_framing.type').length;
  }

  const keyed = new Set(sessions.map(([random]) => random.slice(0, 16)));
  const undecrypted = [...streams.values()]
    .filter((v) => v.decrypted < v.appData)
    .map((v) => {
      const hellos = v.handshakes.map((h) => (h.includes('ClientHello') ? `${h} (${keyed.has(h.split(' ').at(-1)!) ? 'key-log line' : 'NO key-log line'})` : h));
      return `${v.where} (from frame ${v.firstFrame}): ${v.appData} application-data records, ${v.decrypted} decrypted; handshakes in the clear: ${hellos.join(', ') || 'none'}`;
    });

  return {
    undecrypted,
    frames: baseRows.length,
    stun,
    stunInTurn,
    channelData,
    iceChecks,
    useCandidate,
    dtlsRecords,
    dtlsHandshakes,
    serverHelloSessionIds,
    dtlsSessions,
    dtlsFraming,
    reloadOverDtls,
    withAllKeysAtOnce,
    reloadOverTls,
    tlsRecords,
    problems: [...new Set(found)],
    reassemblyCollisions: [...new Set(collisions)],
  };
}

/** "k×v k×v" for diagnostics. */
export function tally<K>(m: ReadonlyMap<K, number>): string {
  return [...m].map(([k, v]) => `${String(k)}×${v}`).join(' ') || '(none)';
}
