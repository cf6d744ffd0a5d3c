/**
 * G.711 (ITU-T G.711, 1988): µ-law (PCMU, RTP payload type 0) and A-law (PCMA, payload type 8)
 * between 8-bit codes and 16-bit linear PCM.
 *
 * Decoding gives the middle of each code's quantisation interval on the 16-bit scale (µ-law:
 * ±32,124 at most, A-law: ±32,256); encoding truncates into the interval, so decode → encode
 * gives back every code — except µ-law 0x7F ("negative zero"), which decodes to 0 like 0xFF and
 * so encodes to 0xFF. A-law has no zero code: 0xD5 is +8 and 0x55 is −8, and 0 encodes to 0xD5.
 *
 * The four tables (two of 256 decoded samples, two of 65,536 codes) are computed once, on first
 * use; the per-sample functions are then a table look-up.
 */

export type G711Law = 'pcmu' | 'pcma';

/** RTP static payload types of RFC 3551 §6. */
export const PT_PCMU = 0;
export const PT_PCMA = 8;
/** G.711 runs at 8,000 samples per second, one byte per sample. */
export const G711_RATE = 8000;

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;

/** µ-law code of one 16-bit sample, computed (G.711 Table 2a, 16-bit scaled). */
function computeMulaw(sample: number): number {
  let s = sample;
  let mask = 0xff;
  if (s < 0) {
    s = -s;
    mask = 0x7f;
  }
  if (s > MULAW_CLIP) s = MULAW_CLIP;
  s += MULAW_BIAS;
  // Segment: position of the highest set bit above bit 7 (s is in [0x84, 0x7FFF]).
  let seg = 0;
  for (let v = s >> 8; v > 0; v >>= 1) seg++;
  const code = (seg << 4) | ((s >> (seg + 3)) & 0x0f);
  return (code ^ mask) & 0xff;
}

/** Linear value of one µ-law code (the middle of its interval). */
function computeMulawDecode(code: number): number {
  const u = ~code & 0xff;
  const seg = (u >> 4) & 0x07;
  const mag = ((((u & 0x0f) << 3) + MULAW_BIAS) << seg) - MULAW_BIAS;
  return u & 0x80 ? -mag : mag;
}

/** Segment ends of A-law on the 13-bit scale (G.711 Table 1a). */
const ALAW_SEG_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

/** A-law code of one 16-bit sample, computed (even bits inverted: XOR 0x55). */
function computeAlaw(sample: number): number {
  let s = sample >> 3; // 13-bit magnitude scale
  let mask: number;
  if (s >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    s = -s - 1;
  }
  let seg = 0;
  while (seg < 8 && s > ALAW_SEG_END[seg]!) seg++;
  if (seg >= 8) return (0x7f ^ mask) & 0xff;
  let code = seg << 4;
  code |= seg < 2 ? (s >> 1) & 0x0f : (s >> seg) & 0x0f;
  return (code ^ mask) & 0xff;
}

/** Linear value of one A-law code (the middle of its interval). */
function computeAlawDecode(code: number): number {
  const a = code ^ 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

interface Tables {
  mulawDecode: Int16Array;
  alawDecode: Int16Array;
  /** Indexed by the sample's 16 bits (sample & 0xFFFF). */
  mulawEncode: Uint8Array;
  alawEncode: Uint8Array;
}

let tables: Tables | undefined;

function getTables(): Tables {
  if (tables !== undefined) return tables;
  const mulawDecode = new Int16Array(256);
  const alawDecode = new Int16Array(256);
  for (let c = 0; c < 256; c++) {
    mulawDecode[c] = computeMulawDecode(c);
    alawDecode[c] = computeAlawDecode(c);
  }
  const mulawEncode = new Uint8Array(65536);
  const alawEncode = new Uint8Array(65536);
  for (let s = -32768; s < 32768; s++) {
    mulawEncode[s & 0xffff] = computeMulaw(s);
    alawEncode[s & 0xffff] = computeAlaw(s);
  }
  tables = { mulawDecode, alawDecode, mulawEncode, alawEncode };
  return tables;
}

/** µ-law code of a 16-bit sample (values outside the 16-bit range are clamped). */
export function linearToMulaw(sample: number): number {
  return getTables().mulawEncode[clamp16(sample) & 0xffff]!;
}

/** 16-bit sample of a µ-law code (only the low 8 bits of `code` count). */
export function mulawToLinear(code: number): number {
  return getTables().mulawDecode[code & 0xff]!;
}

/** A-law code of a 16-bit sample (values outside the 16-bit range are clamped). */
export function linearToAlaw(sample: number): number {
  return getTables().alawEncode[clamp16(sample) & 0xffff]!;
}

/** 16-bit sample of an A-law code (only the low 8 bits of `code` count). */
export function alawToLinear(code: number): number {
  return getTables().alawDecode[code & 0xff]!;
}

/** Encodes PCM16 samples as G.711 codes, one byte per sample. */
export function g711Encode(law: G711Law, pcm: Int16Array): Uint8Array {
  const t = law === 'pcmu' ? getTables().mulawEncode : getTables().alawEncode;
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = t[pcm[i]! & 0xffff]!;
  return out;
}

/** Decodes G.711 codes to PCM16 samples; `into` (at `offset`) receives them when given. */
export function g711Decode(law: G711Law, codes: Uint8Array, into?: Int16Array, offset = 0): Int16Array {
  const t = law === 'pcmu' ? getTables().mulawDecode : getTables().alawDecode;
  const out = into ?? new Int16Array(codes.length);
  const n = Math.min(codes.length, out.length - offset);
  for (let i = 0; i < n; i++) out[offset + i] = t[codes[i]!]!;
  return out;
}

/** The G.711 law of a static payload type, if it is one. */
export function lawOfPayloadType(pt: number): G711Law | undefined {
  return pt === PT_PCMU ? 'pcmu' : pt === PT_PCMA ? 'pcma' : undefined;
}

function clamp16(v: number): number {
  if (!(v > -32768)) return -32768; // NaN too
  if (v > 32767) return 32767;
  return Math.trunc(v);
}
