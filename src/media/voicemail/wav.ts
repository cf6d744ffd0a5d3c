/**
 * RIFF WAVE files (Microsoft "Multimedia Programming Interface and Data Specifications 1.0", 1991;
 * WAVE_FORMAT codes of RFC 2361): what voicemail stores and serves.
 *
 * Written: PCM, 16-bit, mono, 8 kHz by default — the one format every player opens — as a 44-byte
 * header (`RIFF`, `fmt ` of 16 bytes, `data`).
 * Read: PCM 16-bit (format 1), A-law (format 6) and µ-law (format 7), plain or as
 * WAVE_FORMAT_EXTENSIBLE (0xFFFE), mono; G.711 is decoded to PCM16. The reader walks the chunks
 * (odd sizes are padded to even, unknown chunks such as `LIST` or `fact` are skipped) and checks
 * every size against the file: a file that is not one it can play is a VoicemailError whose
 * message names the problem, never a crash or an out-of-bounds read.
 *
 * Limits: at most `maxBytes` (default 8 MiB, over eight minutes of 8 kHz PCM16) and `maxChunks`
 * (default 64) chunks; sample rates in [1, 384,000].
 */
import { g711Decode, type G711Law } from './g711.js';
import { checkIntOption, VoicemailError } from './voicemail-error.js';

export type WavFormat = 'pcm16' | G711Law;

export interface WavAudio {
  readonly sampleRate: number;
  /** The format the file held (its samples are always returned as PCM16). */
  readonly format: WavFormat;
  readonly pcm: Int16Array;
}

export interface WavReadOptions {
  /** Largest file taken (default {@link DEFAULT_MAX_WAV_BYTES}). */
  maxBytes?: number;
  /** Most chunks walked (default {@link DEFAULT_MAX_WAV_CHUNKS}). */
  maxChunks?: number;
  /** When set, a file at another rate is WAV_UNSUPPORTED (voicemail plays 8,000 Hz only). */
  sampleRate?: number;
}

export const DEFAULT_MAX_WAV_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_WAV_CHUNKS = 64;
export const MAX_WAV_SAMPLE_RATE = 384_000;
/** Bytes before the samples in the files {@link encodeWav} writes. */
export const WAV_HEADER_BYTES = 44;

const FORMAT_PCM = 1;
const FORMAT_ALAW = 6;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;

/** A PCM16 mono WAV file of `pcm` (default 8,000 Hz). */
export function encodeWav(pcm: Int16Array, sampleRate = 8000): Uint8Array {
  checkIntOption('sampleRate', sampleRate, 1, MAX_WAV_SAMPLE_RATE);
  const dataBytes = pcm.length * 2;
  if (WAV_HEADER_BYTES - 8 + dataBytes > 0xffffffff) throw new VoicemailError('WAV_TOO_LARGE', `${pcm.length} samples do not fit a RIFF file`);
  const out = new Uint8Array(WAV_HEADER_BYTES + dataBytes);
  const v = new DataView(out.buffer);
  ascii(out, 0, 'RIFF');
  v.setUint32(4, WAV_HEADER_BYTES - 8 + dataBytes, true);
  ascii(out, 8, 'WAVE');
  ascii(out, 12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, FORMAT_PCM, true);
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true); // byte rate
  v.setUint16(32, 2, true); // block align
  v.setUint16(34, 16, true); // bits per sample
  ascii(out, 36, 'data');
  v.setUint32(40, dataBytes, true);
  for (let i = 0; i < pcm.length; i++) v.setInt16(WAV_HEADER_BYTES + 2 * i, pcm[i]!, true);
  return out;
}

interface Fmt {
  tag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bits: number;
}

/** Reads a WAV file (see the module comment for what is taken); throws VoicemailError otherwise. */
export function decodeWav(bytes: Uint8Array, options: WavReadOptions = {}): WavAudio {
  const maxBytes = checkIntOption('maxBytes', options.maxBytes ?? DEFAULT_MAX_WAV_BYTES, 12, 0xffffffff);
  const maxChunks = checkIntOption('maxChunks', options.maxChunks ?? DEFAULT_MAX_WAV_CHUNKS, 2, 1 << 20);
  if (bytes.length > maxBytes) throw new VoicemailError('WAV_TOO_LARGE', `WAV file of ${bytes.length} bytes is over the limit of ${maxBytes}`);
  if (bytes.length < 12) throw new VoicemailError('WAV_MALFORMED', `WAV file of ${bytes.length} bytes is shorter than a RIFF header (12)`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = fourcc(bytes, 0);
  if (magic === 'RIFX' || magic === 'RF64') throw new VoicemailError('WAV_UNSUPPORTED', `${magic} files are not supported (only little-endian RIFF)`);
  if (magic !== 'RIFF') throw new VoicemailError('WAV_MALFORMED', 'not a RIFF file (no "RIFF" at offset 0)');
  if (fourcc(bytes, 8) !== 'WAVE') throw new VoicemailError('WAV_MALFORMED', 'RIFF file is not WAVE (no "WAVE" at offset 8)');
  const riffEnd = 8 + v.getUint32(4, true);
  if (riffEnd > bytes.length) throw new VoicemailError('WAV_TRUNCATED', `RIFF size says ${riffEnd} bytes, the file has ${bytes.length}`);

  let fmt: Fmt | undefined;
  let data: Uint8Array | undefined;
  let pos = 12;
  let chunks = 0;
  while (pos + 8 <= riffEnd) {
    if (++chunks > maxChunks) throw new VoicemailError('WAV_MALFORMED', `WAV file has more than ${maxChunks} chunks`);
    const id = fourcc(bytes, pos);
    const size = v.getUint32(pos + 4, true);
    const body = pos + 8;
    if (body + size > riffEnd) throw new VoicemailError('WAV_TRUNCATED', `chunk "${printable(id)}" at offset ${pos} declares ${size} bytes, only ${riffEnd - body} are left`);
    if (id === 'fmt ') {
      if (fmt !== undefined) throw new VoicemailError('WAV_MALFORMED', 'WAV file has two "fmt " chunks');
      fmt = readFmt(v, body, size);
    } else if (id === 'data') {
      if (data !== undefined) throw new VoicemailError('WAV_MALFORMED', 'WAV file has two "data" chunks');
      data = bytes.subarray(body, body + size);
    }
    pos = body + size + (size & 1); // RIFF chunks are padded to an even size
  }
  if (fmt === undefined) throw new VoicemailError('WAV_MALFORMED', 'WAV file has no "fmt " chunk');
  if (data === undefined) throw new VoicemailError('WAV_MALFORMED', 'WAV file has no "data" chunk');

  const format = formatOf(fmt);
  if (fmt.channels !== 1) throw new VoicemailError('WAV_UNSUPPORTED', `WAV file has ${fmt.channels} channels, only mono is supported`);
  if (fmt.sampleRate < 1 || fmt.sampleRate > MAX_WAV_SAMPLE_RATE) throw new VoicemailError('WAV_MALFORMED', `WAV sample rate ${fmt.sampleRate} is outside [1, ${MAX_WAV_SAMPLE_RATE}]`);
  if (options.sampleRate !== undefined && fmt.sampleRate !== options.sampleRate) {
    throw new VoicemailError('WAV_UNSUPPORTED', `WAV sample rate is ${fmt.sampleRate} Hz, ${options.sampleRate} Hz is required`);
  }
  const sampleBytes = format === 'pcm16' ? 2 : 1;
  if (fmt.blockAlign !== sampleBytes) throw new VoicemailError('WAV_MALFORMED', `WAV block align is ${fmt.blockAlign}, ${sampleBytes} expected for mono ${fmt.bits}-bit`);
  if (data.length % sampleBytes !== 0) throw new VoicemailError('WAV_MALFORMED', `WAV data chunk of ${data.length} bytes is not a whole number of ${sampleBytes}-byte samples`);

  let pcm: Int16Array;
  if (format === 'pcm16') {
    pcm = new Int16Array(data.length / 2);
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let i = 0; i < pcm.length; i++) pcm[i] = dv.getInt16(2 * i, true);
  } else {
    pcm = g711Decode(format, data);
  }
  return { sampleRate: fmt.sampleRate, format, pcm };
}

function readFmt(v: DataView, body: number, size: number): Fmt {
  if (size < 16) throw new VoicemailError('WAV_MALFORMED', `"fmt " chunk of ${size} bytes is shorter than 16`);
  let tag = v.getUint16(body, true);
  if (tag === FORMAT_EXTENSIBLE) {
    // WAVEFORMATEXTENSIBLE: cbSize (2), valid bits (2), channel mask (4), then the sub-format GUID
    // whose first two bytes are the format code.
    if (size < 40) throw new VoicemailError('WAV_MALFORMED', `WAVE_FORMAT_EXTENSIBLE "fmt " chunk of ${size} bytes is shorter than 40`);
    tag = v.getUint16(body + 24, true);
  }
  return {
    tag,
    channels: v.getUint16(body + 2, true),
    sampleRate: v.getUint32(body + 4, true),
    blockAlign: v.getUint16(body + 12, true),
    bits: v.getUint16(body + 14, true),
  };
}

function formatOf(fmt: Fmt): WavFormat {
  if (fmt.tag === FORMAT_PCM) {
    if (fmt.bits !== 16) throw new VoicemailError('WAV_UNSUPPORTED', `PCM WAV with ${fmt.bits} bits per sample, only 16 is supported`);
    return 'pcm16';
  }
  if (fmt.tag === FORMAT_ALAW || fmt.tag === FORMAT_MULAW) {
    if (fmt.bits !== 8) throw new VoicemailError('WAV_MALFORMED', `G.711 WAV with ${fmt.bits} bits per sample, 8 expected`);
    return fmt.tag === FORMAT_ALAW ? 'pcma' : 'pcmu';
  }
  throw new VoicemailError('WAV_UNSUPPORTED', `WAV format code ${fmt.tag} is not supported (1 PCM, 6 A-law, 7 µ-law are)`);
}

function fourcc(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
}

/** A chunk id fit for an error message (binary garbage shown as \xNN). */
function printable(id: string): string {
  return id.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function ascii(b: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) b[at + i] = s.charCodeAt(i);
}
