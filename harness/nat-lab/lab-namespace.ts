/**
 * One network namespace of a NAT lab (a host, a router, the public segment), with the two ways to
 * run something inside it: a short command that returns its output, and a bounded long-running
 * process owned by the lab's ProcessScope (killed by the lab's dispose()).
 */
import type { BoundedProcess, SpawnBoundedOptions } from '../bounded-process.js';
import { inNamespace, runCommand, tryCommand } from './lab-command.js';
import type { CommandOptions, CommandResult } from './lab-command.js';

/** How a namespace starts processes: the lab tracks them so it can stop them before deleting namespaces. */
export interface LabSpawner {
  spawn(opts: SpawnBoundedOptions): BoundedProcess;
}

export class LabNamespace {
  /** The network namespace name (`ip netns list`). */
  readonly namespace: string;
  /** A short name for messages (host name, `router:<site>`, `public`). */
  readonly label: string;
  readonly #spawner: LabSpawner;

  constructor(namespace: string, label: string, spawner: LabSpawner) {
    this.namespace = namespace;
    this.label = label;
    this.#spawner = spawner;
  }

  /** Runs `command args` inside the namespace; resolves with stdout, rejects (LabCommandError) on failure. */
  run(command: string, args: readonly string[] = [], opts: CommandOptions = {}): Promise<string> {
    const argv = inNamespace(this.namespace, command, args);
    return runCommand(argv.command, argv.args, opts);
  }

  /** Like run(), but resolves with the exit status and both outputs whatever the status. */
  tryRun(command: string, args: readonly string[] = [], opts: CommandOptions = {}): Promise<CommandResult> {
    const argv = inNamespace(this.namespace, command, args);
    return tryCommand(argv.command, argv.args, opts);
  }

  /**
   * Starts a bounded process inside the namespace (`ip netns exec <ns> command args` under
   * `timeout`, own process group). It is stopped by the lab's dispose() at the latest.
   */
  spawn(opts: SpawnBoundedOptions): BoundedProcess {
    const argv = inNamespace(this.namespace, opts.command, opts.args);
    return this.#spawner.spawn({ ...opts, ...argv, name: opts.name ?? `${this.label}:${opts.command}` });
  }

  /** Writes a sysctl of this namespace (e.g. `net/ipv4/ip_forward`). */
  async sysctl(key: string, value: string): Promise<void> {
    if (!/^[a-z0-9_/.-]+$/i.test(key) || key.includes('..')) throw new RangeError(`bad sysctl key ${key}`);
    await this.run('sh', ['-c', 'printf "%s\\n" "$1" > "/proc/sys/$2"', 'sh', value, key.replaceAll('.', '/')]);
  }
}
