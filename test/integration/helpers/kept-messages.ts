/**
 * Issue 16 tests: MESSAGEs with a text body sent to an absent user, and the receiving phone's side
 * (each new MESSAGE answered 200, in the order they came, none twice).
 */
import assert from 'node:assert/strict';
import type { AuthPhone } from './auth-phone.js';

/** A MESSAGE numbered `n` from `phone` to `to` (an AoR); resolves the final status line. */
export async function sendMessage(phone: AuthPhone, to: string, n: number, body: string): Promise<string> {
  const callId = `msg-${n}-${phone.udp.port}`;
  const text = [
    `MESSAGE ${to} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${phone.udp.port};branch=z9hG4bKmsg${n}x${phone.udp.port};rport`,
    'Max-Forwards: 70',
    `From: "Carol" <${phone.from}>;tag=c${n}`,
    `To: <${to}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 MESSAGE',
    `Date: Mon, 07 Dec 2026 08:${String(n).padStart(2, '0')}:00 GMT`,
    'Content-Type: text/plain',
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
  phone.udp.send(text, phone.peer.port, phone.peer.host);
  const final = await phone.udp.waitFor((m) => /^SIP\/2\.0 [2-6]\d\d/.test(m) && m.includes(`Call-ID: ${callId}`), 20_000, `answer to MESSAGE ${n}`);
  return final.split('\r\n')[0]!;
}

/**
 * Collects `count` new MESSAGEs at `phone` (by Call-ID), answering each 200 and checking it kept
 * the sender's From and Date; resolves their bodies in arrival order. `extra()` then tells whether
 * one more came within `quietMs` (a second delivery).
 */
export function receiveMessages(phone: AuthPhone, count: number, limitMs: number): { bodies: Promise<string[]>; extra(quietMs: number): Promise<string | undefined> } {
  const seen: string[] = [];
  const callIds = new Set<string>();
  const callIdOf = (m: string): string => /\r\nCall-ID: ([^\r]+)/i.exec(m)?.[1] ?? '';
  const fresh = (m: string): boolean => m.startsWith('MESSAGE ') && !callIds.has(callIdOf(m));
  const bodies = new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${seen.length} of ${count} messages arrived: ${seen.join(' | ')}`)), limitMs);
    const next = (): void => {
      phone.udp.waitFor(fresh, limitMs, 'a kept MESSAGE').then((m) => {
        callIds.add(callIdOf(m));
        const body = m.slice(m.indexOf('\r\n\r\n') + 4);
        const n = Number(/message number (\d+)/.exec(body)?.[1] ?? 0);
        assert.match(m, /\r\nFrom: "Carol" <sip:carol@elsewhere\.example>;tag=/);
        assert.match(m, new RegExp(`\\r\\nDate: Mon, 07 Dec 2026 08:${String(n).padStart(2, '0')}:00 GMT`));
        seen.push(body);
        phone.answer(m, 200);
        if (seen.length === count) {
          clearTimeout(timer);
          resolve(seen);
        } else next();
      }, reject);
    };
    next();
  });
  return { bodies, extra: (quietMs) => phone.udp.waitFor(fresh, quietMs, 'a second delivery').catch(() => undefined) };
}
