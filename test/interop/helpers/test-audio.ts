/**
 * Test audio made at test time: sentences spoken by espeak-ng, resampled by sox to what a G.711 call
 * carries (8 kHz, mono, 16-bit PCM, normalized to -3 dBFS peak), silence padding, and sox's own µ-law
 * round trip (an independent G.711 encoder/decoder for the self-check of harness/audio-check.ts).
 * Each program runs bounded (execFileSync with a timeout, which kills it).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const TOOL_TIMEOUT_MS = 20_000;

export const TEST_AUDIO_RATE = 8000;

function run(command: string, args: readonly string[]): void {
  execFileSync(command, [...args], { timeout: TOOL_TIMEOUT_MS, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Speaks `text` into `<dir>/<name>.wav` (8 kHz mono 16-bit) and returns the path. */
export function speech(dir: string, name: string, text: string): string {
  const raw = join(dir, `${name}-espeak.wav`);
  const out = join(dir, `${name}.wav`);
  run('espeak-ng', ['-v', 'en-us', '-s', '160', '-w', raw, text]);
  run('sox', [raw, '-r', String(TEST_AUDIO_RATE), '-c', '1', '-b', '16', '-e', 'signed-integer', out, 'norm', '-3']);
  return out;
}

/** `input` with `beforeS` seconds of silence in front and `afterS` after, into `out`. */
export function padded(input: string, out: string, beforeS: number, afterS: number): string {
  run('sox', [input, out, 'pad', String(beforeS), String(afterS)]);
  return out;
}

/** `input` encoded to G.711 µ-law and decoded back to 16-bit PCM by sox, into `out`. */
export function muLawRoundTrip(input: string, out: string): string {
  const mid = `${out}.ulaw.wav`;
  run('sox', [input, '-e', 'u-law', '-b', '8', mid]);
  run('sox', [mid, '-e', 'signed-integer', '-b', '16', out]);
  return out;
}
