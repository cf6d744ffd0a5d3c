/**
 * Short, bounded commands for the NAT lab (`ip`, `nft`, `tc`, a probe inside a namespace). Each runs
 * under coreutils `timeout` (so it dies even if this process is killed) with a Node-side timeout too.
 */
import { execFile, execFileSync } from 'node:child_process';

export interface CommandResult {
  /** Exit status; null when killed by a signal (for instance the time bound). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandOptions {
  /** Upper bound on the run time. Default 10 s. */
  readonly timeoutMs?: number;
  /** Written to the command's stdin, then closed. */
  readonly input?: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** A command that exited with a non-zero status. */
export class LabCommandError extends Error {
  readonly code = 'NAT_LAB_COMMAND_FAILED';

  constructor(
    readonly argv: readonly string[],
    readonly result: CommandResult,
  ) {
    super(`${argv.join(' ')}: exit ${String(result.code)}${result.stderr.trim() === '' ? '' : `: ${result.stderr.trim()}`}`);
    this.name = 'LabCommandError';
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_BUFFER = 16 * 1024 * 1024;

/** Runs `command args` and resolves with its status and output (never rejects on a non-zero exit). */
export function tryCommand(command: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const boundS = Math.max(1, Math.ceil(timeoutMs / 1000));
  return new Promise<CommandResult>((resolve) => {
    const child = execFile(
      'timeout',
      ['--kill-after=1', String(boundS), command, ...args],
      { timeout: timeoutMs + 2000, killSignal: 'SIGKILL', maxBuffer: MAX_BUFFER, encoding: 'utf8', cwd: opts.cwd, env: opts.env },
      (err, stdout, stderr) => {
        let code: number | null = 0;
        if (err !== null) {
          const c = (err as NodeJS.ErrnoException & { code?: unknown }).code;
          code = typeof c === 'number' ? c : null;
        }
        resolve({ code, stdout, stderr: err !== null && stderr === '' && code === null ? err.message : stderr });
      },
    );
    child.stdin?.on('error', () => undefined);
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Runs `command args`; resolves with stdout, rejects with a LabCommandError on failure. */
export async function runCommand(command: string, args: readonly string[], opts: CommandOptions = {}): Promise<string> {
  const result = await tryCommand(command, args, opts);
  if (result.code !== 0) throw new LabCommandError([command, ...args], result);
  return result.stdout;
}

/** Synchronous best-effort run (for process 'exit' handlers); returns true on success. */
export function runCommandSync(command: string, args: readonly string[], timeoutMs = 5000): boolean {
  try {
    execFileSync(command, [...args], { timeout: timeoutMs, stdio: 'ignore', killSignal: 'SIGKILL' });
    return true;
  } catch {
    return false;
  }
}

/** `ip netns exec <ns> command args` as an argv for `runCommand` / `spawn`. */
export function inNamespace(namespace: string, command: string, args: readonly string[]): { command: string; args: string[] } {
  return { command: 'ip', args: ['netns', 'exec', namespace, command, ...args] };
}
