import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 free at the moment of asking (the kernel's pick; it may be taken again later). */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
