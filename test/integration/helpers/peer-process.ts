/**
 * Starts `p2psip up` as a real child process (through tsx, no build needed), waits for its
 * ready line and parses the bound addresses. The process is killed when the test ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface PeerProcess {
  child: ChildProcess;
  /** 'udp' | 'tcp' | … → port */
  sip: Map<string, { host: string; port: number }>;
  http: string | undefined;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startPeerProcess(args: string[], timeoutMs = 20_000): Promise<PeerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'up', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`peer not ready within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    child.stdout!.on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('SIP front listening on'));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`peer exited with ${code} before ready:\n${out}`));
    });
  });
  const sip = new Map<string, { host: string; port: number }>();
  for (const m of ready.matchAll(/(udp|tcp|tls|wss|ws):(\[[^\]]+\]|[0-9.]+):(\d+)/g)) {
    sip.set(m[1]!, { host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) });
  }
  const http = /dashboard http:\/\/([^/]+)\//.exec(ready)?.[1];
  return {
    child,
    sip,
    http,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
