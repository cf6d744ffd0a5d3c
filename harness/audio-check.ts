/**
 * Did a known audio signal arrive? The tests that send real audio between phones (a wav played by
 * one phone, recorded by the other) compare the recording with the source by normalized
 * cross-correlation (NCC), searching the unknown delay:
 *
 *   ncc(L) = Σ s[n]·r[n+L] / sqrt(Σ s[n]² · Σ r[n+L]²)     over the samples where both exist
 *
 * for every lag L at which at least `minOverlap` of the source lies inside the recording (full overlap
 * by default). The numerators of all lags come from one FFT cross-correlation, the energies from
 * prefix sums, so a few seconds at 8 kHz searched over the whole recording take milliseconds. Both
 * signals lose their mean first (a DC offset is not content). The NCC is 1 for a scaled copy, about
 * 1/sqrt(1 + 1/SNR) for a copy with noise at that signal-to-noise ratio, and small for an unrelated
 * signal (see nat-media.test.ts for the threshold).
 *
 * The WAV reader takes 16-bit PCM (format 1 or WAVE_FORMAT_EXTENSIBLE), mixes channels down, and
 * trusts the file's end over a data chunk size that a recorder killed mid-call left at 0 or too large.
 */
import { readFileSync } from 'node:fs';

export interface PcmAudio {
  readonly sampleRate: number;
  /** Mono samples, in [-1, 1). */
  readonly samples: Float64Array;
}

export interface Alignment {
  /** The best normalized cross-correlation found (0 when a signal is silent or too short). */
  readonly ncc: number;
  /** Where the source starts in the recording at that peak, in samples (negative: before its start). */
  readonly lagSamples: number;
  /** The same in milliseconds. */
  readonly lagMs: number;
  /** Samples of the source that overlapped the recording at that lag. */
  readonly overlapSamples: number;
  /** Lags searched. */
  readonly lagsSearched: number;
}

export interface AlignOptions {
  /** Fraction of the source that must lie inside the recording at a lag (default 1: full overlap). */
  readonly minOverlap?: number;
}

export interface SegmentMatch {
  /** Where the segment starts in the source, ms. */
  readonly offsetMs: number;
  /** Where it was found in the recording relative to its place at the global lag, ms (jitter-buffer slips). */
  readonly driftMs: number;
  readonly ncc: number;
}

export interface AudioComparison {
  /** The whole source against the recording: a whole copy, or at least `globalOverlap` of it when that matches clearly better. */
  readonly global: Alignment;
  /** Each voiced segment of the source inside the recording, searched within ±searchMs of its place at the global lag. */
  readonly segments: readonly SegmentMatch[];
  /** The median segment NCC (0 without voiced segments): the score a threshold is applied to. */
  readonly score: number;
  /** Fraction of the judged segments whose NCC is at least `threshold`. */
  readonly fractionAbove: number;
  /** Fraction of the source's voiced segments that lay inside the recording at the global lag (were judged). */
  readonly coverage: number;
}

/** How much better a partial-overlap match must be to be preferred to a whole copy. */
const PARTIAL_PREFERRED_BY = 0.1;

export interface CompareOptions {
  /** Segment length (default 500 ms). */
  readonly segmentMs?: number;
  /** How far a segment may have moved from the global alignment (default 250 ms). */
  readonly searchMs?: number;
  /** Segments quieter than the source's RMS level minus this are silence, not judged (default 15 dB). */
  readonly voicedBelowDb?: number;
  /** Part of the source that must overlap the recording in the global search (default 0.6). */
  readonly globalOverlap?: number;
  /** For `fractionAbove` (default 0.5). */
  readonly threshold?: number;
}

/**
 * Compares a recording with the source it should contain, robustly against what a receiving phone's
 * jitter buffer does to the playout: an adaptive buffer drops or inserts a few milliseconds now and
 * then (linphone moved a call's playout by 10 ms in its first second here), which lowers the NCC of
 * the whole signal (0.70 for a recording that matched 0.9997 on either side of the slip) but only that
 * of the segment holding the slip. So: find the global lag (the whole source; partial overlap when
 * that matches clearly better: a recording cut short), then search each voiced segment of the
 * source near its place there, and take the median of the segments' NCCs as the score.
 */
export function compareAudio(source: PcmAudio, recording: PcmAudio, opts: CompareOptions = {}): AudioComparison {
  const rate = source.sampleRate;
  // a whole copy first; part of one (a recording cut short, a looping sender's last round) only when
  // it matches clearly better — equal matches prefer the copy all segments can be judged in
  const whole = alignSignal(source, recording);
  const part = alignSignal(source, recording, { minOverlap: opts.globalOverlap ?? 0.6 });
  const global = part.ncc > whole.ncc + PARTIAL_PREFERRED_BY ? part : whole;
  const segLen = Math.round(((opts.segmentMs ?? 500) / 1000) * rate);
  const search = Math.round(((opts.searchMs ?? 250) / 1000) * rate);
  const floorDb = rmsDbfs(source.samples) - (opts.voicedBelowDb ?? 15);
  const threshold = opts.threshold ?? 0.5;
  const segments: SegmentMatch[] = [];
  let voiced = 0;
  if (global.ncc > 0) {
    for (let o = 0; o + segLen <= source.samples.length; o += segLen) {
      const seg = source.samples.subarray(o, o + segLen);
      if (rmsDbfs(seg) < floorDb) continue;
      const at = o + global.lagSamples;
      const from = Math.max(0, at - search);
      const to = Math.min(recording.samples.length, at + segLen + search);
      voiced++;
      // a segment whose place lies outside the recording is not judged (coverage says how many were)
      if (at < 0 || at + segLen > recording.samples.length) continue;
      const a = alignSignal({ sampleRate: rate, samples: seg }, { sampleRate: rate, samples: recording.samples.subarray(from, to) });
      segments.push({ offsetMs: (o / rate) * 1000, driftMs: ((from + a.lagSamples - at) / rate) * 1000, ncc: a.ncc });
    }
  }
  const sorted = segments.map((s) => s.ncc).sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const score = sorted.length === 0 ? 0 : sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const fractionAbove = sorted.length === 0 ? 0 : sorted.filter((v) => v >= threshold).length / sorted.length;
  return { global, segments, score, fractionAbove, coverage: voiced === 0 ? 0 : segments.length / voiced };
}

/** Reads a 16-bit PCM WAV file into mono samples. */
export function readWav(path: string): PcmAudio {
  return parseWav(readFileSync(path), path);
}

/** Parses a 16-bit PCM WAV (RIFF) buffer into mono samples. */
export function parseWav(buf: Buffer, what = 'wav'): PcmAudio {
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') {
    throw new Error(`${what}: not a RIFF/WAVE file`);
  }
  let off = 12;
  let fmt: { format: number; channels: number; sampleRate: number; bits: number } | undefined;
  while (off + 8 <= buf.length) {
    const id = buf.toString('latin1', off, off + 4);
    const declared = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      if (declared < 16 || body + 16 > buf.length) throw new Error(`${what}: short fmt chunk`);
      fmt = { format: buf.readUInt16LE(body), channels: buf.readUInt16LE(body + 2), sampleRate: buf.readUInt32LE(body + 4), bits: buf.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (fmt === undefined) throw new Error(`${what}: data chunk before fmt`);
      // WAVE_FORMAT_PCM (1) or WAVE_FORMAT_EXTENSIBLE (0xFFFE, whose sub-format we take to be PCM)
      if ((fmt.format !== 1 && fmt.format !== 0xfffe) || fmt.bits !== 16 || fmt.channels < 1) {
        throw new Error(`${what}: only 16-bit PCM is read (format ${fmt.format}, ${fmt.bits} bits, ${fmt.channels} channels)`);
      }
      // a recorder stopped before it fixed its header leaves 0 (or a stale size): trust the file's end
      const size = declared === 0 || body + declared > buf.length ? buf.length - body : declared;
      const frameBytes = 2 * fmt.channels;
      const frames = Math.floor(size / frameBytes);
      const samples = new Float64Array(frames);
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (let c = 0; c < fmt.channels; c++) sum += buf.readInt16LE(body + i * frameBytes + 2 * c);
        samples[i] = sum / fmt.channels / 32768;
      }
      return { sampleRate: fmt.sampleRate, samples };
    }
    off = body + declared + (declared % 2);
  }
  throw new Error(`${what}: no data chunk`);
}

/** Root mean square level of the samples in dBFS (-Infinity for silence). */
export function rmsDbfs(samples: Float64Array): number {
  if (samples.length === 0) return -Infinity;
  let e = 0;
  for (const v of samples) e += v * v;
  return 10 * Math.log10(e / samples.length);
}

/**
 * The lag at which `source` best matches `recording` (same sample rate) and the normalized
 * cross-correlation there; lags where less than `minOverlap` of the source lies inside the recording
 * are not considered.
 */
export function alignSignal(source: PcmAudio, recording: PcmAudio, opts: AlignOptions = {}): Alignment {
  if (source.sampleRate !== recording.sampleRate) {
    throw new Error(`sample rates differ: source ${source.sampleRate} Hz, recording ${recording.sampleRate} Hz`);
  }
  const rate = source.sampleRate;
  const s = centered(source.samples);
  const r = centered(recording.samples);
  const n = s.length;
  const m = r.length;
  const minOverlap = Math.max(1, Math.ceil((opts.minOverlap ?? 1) * n));
  const none: Alignment = { ncc: 0, lagSamples: 0, lagMs: 0, overlapSamples: 0, lagsSearched: 0 };
  if (n === 0 || m < minOverlap) return none;
  // lags L with overlap = min(n, m - L) - max(0, -L) >= minOverlap: L in [minOverlap - n, m - minOverlap]
  const lagLo = minOverlap - n;
  const lagHi = m - minOverlap;
  const cross = crossCorrelation(s, r);
  const sPrefix = prefixEnergy(s);
  const rPrefix = prefixEnergy(r);
  let best = none;
  for (let lag = lagLo; lag <= lagHi; lag++) {
    const from = Math.max(0, -lag);
    const to = Math.min(n, m - lag);
    const es = sPrefix[to]! - sPrefix[from]!;
    const er = rPrefix[to + lag]! - rPrefix[from + lag]!;
    if (es <= 0 || er <= 0) continue;
    const ncc = cross(lag) / Math.sqrt(es * er);
    if (ncc > best.ncc) best = { ncc, lagSamples: lag, lagMs: (lag / rate) * 1000, overlapSamples: to - from, lagsSearched: 0 };
  }
  return { ...best, lagsSearched: lagHi - lagLo + 1 };
}

/** A copy of the samples with their mean removed. */
function centered(x: Float64Array): Float64Array {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length || 1;
  return x.map((v) => v - mean);
}

/** p[i] = Σ x[0..i)² */
function prefixEnergy(x: Float64Array): Float64Array {
  const p = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i++) p[i + 1] = p[i]! + x[i]! * x[i]!;
  return p;
}

/** c(L) = Σ_n s[n]·r[n+L] for -(s.length-1) <= L <= r.length-1, computed with one FFT product. */
function crossCorrelation(s: Float64Array, r: Float64Array): (lag: number) => number {
  const size = nextPow2(s.length + r.length);
  const re1 = new Float64Array(size);
  const im1 = new Float64Array(size);
  const re2 = new Float64Array(size);
  const im2 = new Float64Array(size);
  re1.set(r);
  re2.set(s);
  fft(re1, im1, false);
  fft(re2, im2, false);
  // R · conj(S)
  for (let k = 0; k < size; k++) {
    const a = re1[k]!;
    const b = im1[k]!;
    const c = re2[k]!;
    const d = -im2[k]!;
    re1[k] = a * c - b * d;
    im1[k] = a * d + b * c;
  }
  fft(re1, im1, true);
  // circular result: lag L >= 0 at index L, negative lags wrap to size + L (no aliasing: size >= n + m)
  return (lag) => re1[lag >= 0 ? lag : size + lag]! / size;
}

function nextPow2(x: number): number {
  let p = 1;
  while (p < x) p *= 2;
  return p;
}

/** In-place iterative radix-2 complex FFT (inverse without the 1/N scale). */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i]!;
      re[i] = re[j]!;
      re[j] = tr;
      const ti = im[i]!;
      im[i] = im[j]!;
      im[j] = ti;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    const half = len >> 1;
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < half; k++) {
        const a = i + k;
        const b = a + half;
        const xr = re[b]! * cr - im[b]! * ci;
        const xi = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
}
