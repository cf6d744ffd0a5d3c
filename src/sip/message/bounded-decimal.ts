import { isDigit } from './chars.js';

/** 1*DIGIT in `text[start, end)` no larger than `max`; -1 when empty, not digits or over `max`. */
export function boundedDecimal(text: string, start: number, end: number, max: number): number {
  if (end <= start) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (!isDigit(c)) return -1;
    v = v * 10 + (c - 0x30);
    if (v > max) return -1;
  }
  return v;
}
