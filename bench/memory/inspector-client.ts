/**
 * A minimal Chrome DevTools Protocol client for a node process started with
 * `--inspect=127.0.0.1:0` (loopback only): it forces a full garbage collection and reads
 * `process.memoryUsage()` inside the process, so that memory figures compare live objects, not
 * whatever garbage the last collection left. One command at a time, each bounded in time.
 */
import WebSocket from 'ws';

/** The line node prints on stderr when its inspector listens. */
export const INSPECTOR_LINE = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/;

const COMMAND_TIMEOUT_MS = 30_000;

export interface MemoryUsage {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export class InspectorClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      let msg: { id?: number; result?: unknown; error?: { message?: string } };
      try {
        msg = JSON.parse(String(data)) as typeof msg;
      } catch {
        return;
      }
      if (msg.id === undefined) return; // an event
      const w = this.waiting.get(msg.id);
      if (w === undefined) return;
      this.waiting.delete(msg.id);
      if (msg.error !== undefined) w.reject(new Error(`inspector: ${msg.error.message ?? 'error'}`));
      else w.resolve(msg.result);
    });
    ws.on('close', () => {
      for (const w of this.waiting.values()) w.reject(new Error('inspector connection closed'));
      this.waiting.clear();
    });
  }

  /** Connects to the inspector's WebSocket URL (from {@link INSPECTOR_LINE}). */
  static connect(url: string): Promise<InspectorClient> {
    if (!url.startsWith('ws://127.0.0.1:')) return Promise.reject(new Error(`not a loopback inspector: ${url}`));
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`inspector ${url}: no connection within ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(new InspectorClient(ws));
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** A full, compacting collection (what a heap snapshot does first). */
  async collectGarbage(): Promise<void> {
    await this.command('HeapProfiler.collectGarbage', {});
  }

  /** `process.memoryUsage()` of the inspected process. */
  async memoryUsage(): Promise<MemoryUsage> {
    const r = (await this.command('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as {
      result?: { value?: unknown };
    };
    const v = r.result?.value;
    if (typeof v !== 'string') throw new Error('inspector: process.memoryUsage() gave no value');
    return JSON.parse(v) as MemoryUsage;
  }

  /** Collects garbage twice (weak references and finalizers need a second pass), then reads memory. */
  async liveMemory(): Promise<MemoryUsage> {
    await this.collectGarbage();
    await this.collectGarbage();
    return this.memoryUsage();
  }

  close(): void {
    this.ws.close();
  }

  private command(method: string, params: object): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`inspector: ${method} not answered within ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      this.waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }
}
