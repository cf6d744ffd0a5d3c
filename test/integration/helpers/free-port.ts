import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/**
 * Ports are drawn above the kernel's ephemeral range (Linux default 32768–60999): a port the kernel
 * picks for `listen(0)` is one it also hands out to outgoing connections, so another test's connect()
 * could take it between our asking and the child binding it (seen in CI: EADDRINUSE at a peer's
 * start). Nor from 20000–29999, the media relay's default `--media-ports`: the relays of peers in
 * other tests take ports there, and one took a killed peer's SIP port before its restart (seen in CI:
 * EADDRINUSE in sip-overlay-restart). The tests that give the relay a range use 11000–15199.
 * Nothing takes a port of this range unasked.
 */
const LOW = 61_000;
const HIGH = 65_500;
const TRIES = 100;

function bindTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function bindUdp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A port on 127.0.0.1 free for TCP and UDP at the moment of asking, outside the ephemeral range. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < TRIES; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if ((await bindTcp(port)) && (await bindUdp(port))) return port;
  }
  throw new Error(`no free port in ${LOW}-${HIGH - 1} after ${TRIES} tries`);
}
