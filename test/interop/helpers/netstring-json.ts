/**
 * Netstring framing (`<len>:<payload>,`) of JSON objects, as baresip's ctrl_tcp module
 * speaks it. The decoder is bounded: a frame longer than maxFrame is an error.
 */

export const MAX_NETSTRING_FRAME = 256 * 1024;

export function encodeNetstring(payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length}:`), body, Buffer.from(',')]);
}

export class NetstringDecoder {
  #buf: Buffer = Buffer.alloc(0);
  readonly #maxFrame: number;

  constructor(maxFrame: number = MAX_NETSTRING_FRAME) {
    this.#maxFrame = maxFrame;
  }

  /** Appends bytes and returns every complete frame's payload; throws on malformed framing. */
  push(chunk: Buffer): string[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: string[] = [];
    for (;;) {
      const colon = this.#buf.indexOf(0x3a);
      if (colon === -1) {
        if (this.#buf.length > 10) throw new Error('netstring: length prefix too long');
        return out;
      }
      const lenText = this.#buf.subarray(0, colon).toString('latin1');
      if (!/^\d{1,9}$/.test(lenText)) throw new Error(`netstring: bad length '${lenText.slice(0, 16)}'`);
      const len = Number(lenText);
      if (len > this.#maxFrame) throw new Error(`netstring: frame of ${len} bytes exceeds ${this.#maxFrame}`);
      const end = colon + 1 + len;
      if (this.#buf.length < end + 1) return out;
      if (this.#buf[end] !== 0x2c) throw new Error('netstring: missing trailing comma');
      out.push(this.#buf.subarray(colon + 1, end).toString('utf8'));
      this.#buf = this.#buf.subarray(end + 1);
    }
  }
}

/**
 * Calls `onFrame` with each netstring payload arriving on `socket` (baresip's ctrl_tcp); malformed
 * framing destroys the socket. Socket errors are left to the driver's own handler.
 */
export function onNetstringFrames(socket: { on(event: 'data', fn: (chunk: Buffer) => void): unknown; destroy(err?: Error): unknown }, onFrame: (payload: string) => void): void {
  const decoder = new NetstringDecoder();
  socket.on('data', (chunk: Buffer) => {
    let frames: string[];
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      socket.destroy(err as Error);
      return;
    }
    for (const f of frames) onFrame(f);
  });
}
