/**
 * Starts `p2psip enroll-server` as a real child process (through tsx) and waits for its ready
 * lines. Run directly (`node --import tsx enroll-server-process.ts enroll-server ...`) it is the
 * child: a commander program with only the enroll-server command, until main.ts wires it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { registerEnrollServerCommand } from '../../../src/cli/enroll-server-command.js';
import { P2psipError } from '../../../src/lib/errors.js';

const HERE = fileURLToPath(import.meta.url);
const ROOT = join(dirname(HERE), '..', '..', '..');

export interface EnrollServerProcess {
  child: ChildProcess;
  /** https://127.0.0.1:port */
  url: string;
  configUrl: string;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startEnrollServerProcess(args: string[], timeoutMs = 30_000): Promise<EnrollServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', HERE, 'enroll-server', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const configUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`enroll-server not ready within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    child.stdout!.on('data', (d: string) => {
      out += d;
      const m = /configuration document: (https:\/\/\S+)/.exec(out);
      if (m !== null && out.includes('peers join with:')) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`enroll-server exited with ${code} before ready:\n${out}`));
    });
  });
  return {
    child,
    url: configUrl.replace(/\/\.well-known\/reload-config$/, ''),
    configUrl,
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

/** The child side: exit 0 after a clean stop, 2 on usage errors, 1 on runtime failures. */
async function main(): Promise<void> {
  const program = new Command('p2psip').exitOverride();
  registerEnrollServerCommand(program);
  try {
    await program.parseAsync(process.argv);
    process.exit(0);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(e instanceof P2psipError && e.code === 'CONFIG' ? 2 : 1);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
