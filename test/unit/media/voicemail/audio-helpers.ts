/** Signal measures for the voicemail tests. */

/** Power of `freq` in `x` (Goertzel), normalised so a full-scale-ish sine of amplitude A gives about A²/4. */
export function goertzel(x: Int16Array, freq: number, rate = 8000): number {
  const w = (2 * Math.PI * freq) / rate;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const s0 = x[i]! + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const p = s1 * s1 + s2 * s2 - c * s1 * s2;
  return p / (x.length * x.length);
}

/** The frequency among `candidates` with the most power in `x`. */
export function dominant(x: Int16Array, candidates: readonly number[]): number {
  let best = candidates[0]!;
  let bestP = -1;
  for (const f of candidates) {
    const p = goertzel(x, f);
    if (p > bestP) {
      best = f;
      bestP = p;
    }
  }
  return best;
}

export function rms(x: Int16Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return x.length === 0 ? 0 : Math.sqrt(s / x.length);
}

/** Normalised cross-correlation of two equal-length signals at lag 0. */
export function correlation(a: Int16Array, b: Int16Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

/** Samples [fromMs, toMs) of an 8 kHz signal. */
export function slice(x: Int16Array, fromMs: number, toMs: number): Int16Array {
  return x.subarray(fromMs * 8, toMs * 8);
}

/** A test signal: a sum of sines (speech-band), `ms` long at 8 kHz. */
export function testSignal(ms: number, amplitude = 6000): Int16Array {
  const n = ms * 8;
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / 8000;
    out[i] = Math.round(amplitude * (0.5 * Math.sin(2 * Math.PI * 310 * t) + 0.3 * Math.sin(2 * Math.PI * 1130 * t + 1) + 0.2 * Math.sin(2 * Math.PI * 2470 * t + 2)));
  }
  return out;
}
