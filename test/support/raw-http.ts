/** Raw HTTP over a TCP socket for tests that send what a real client never would. */
import { connect } from 'node:net';

/** Writes `text` on a fresh connection to 127.0.0.1:`port`, half-closes, and returns everything the server sent (bounded). */
export function rawHttp(port: number, text: string | Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no end of answer within ${timeoutMs} ms; got ${JSON.stringify(got.slice(0, 200))}`));
    }, timeoutMs);
    s.setEncoding('latin1');
    s.on('data', (d: string) => (got += d));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(t);
      resolve(got);
    });
    s.end(text);
  });
}

/** The status code of a raw HTTP answer, or 0. */
export const httpStatus = (answer: string): number => Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0);
