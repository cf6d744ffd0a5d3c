/**
 * `p2psip user add|passwd|remove|list` (issue 15): the user directory of a closed overlay, through
 * the local peer's HTTP API (node/users-api.ts) with its API token (<data-dir>/api-token). Passwords
 * come from `--password`, from stdin (`--password-stdin`, one line), or a prompt on a terminal, and
 * travel to the peer in a header (base64), never in the URL.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { P2psipError } from '../lib/errors.js';
import { ConfigError, parseHostPort } from '../node/peer-config.js';
import { API_TOKEN_FILE } from '../platform/api-token.js';
import { CURRENT_PASSWORD_HEADER, PASSWORD_HEADER } from '../node/users-api.js';

interface UserCommandOptions {
  http: string;
  overlay: string;
  dataDir?: string;
  token?: string;
  password?: string;
  current?: string;
  passwordStdin?: boolean;
  force?: boolean;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** One line from stdin (the first; at most 1,024 bytes). */
async function stdinLines(n: number): Promise<string[]> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  const out: string[] = [];
  for await (const line of rl) {
    out.push(line.slice(0, 1024));
    if (out.length >= n) break;
  }
  rl.close();
  return out;
}

/** A password typed on the terminal, not echoed. */
async function prompt(question: string): Promise<string> {
  if (!process.stdin.isTTY) throw new ConfigError(`${question.trim()}: no terminal; give --password or --password-stdin`);
  process.stderr.write(question);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise<string>((resolve, reject) => {
    let text = '';
    const onData = (b: Buffer): void => {
      for (const ch of b.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(text);
          return;
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          reject(new P2psipError('INTERRUPTED', 'interrupted'));
          return;
        }
        if (ch === '\u007f') text = text.slice(0, -1);
        else if (text.length < 1024) text += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function call(o: UserCommandOptions, path: string, headers: Record<string, string>, method: 'GET' | 'POST'): Promise<{ status: number; body: Record<string, unknown> }> {
  const hp = parseHostPort(o.http, '--http');
  const host = hp.host.includes(':') ? `[${hp.host}]` : hp.host;
  let token = o.token;
  if (token === undefined && method === 'POST') {
    // the token file: --data-dir's, else where the running peer says it keeps it, else the default data directory's
    let file = o.dataDir === undefined ? undefined : join(o.dataDir, API_TOKEN_FILE);
    if (file === undefined) {
      const st = await fetch(`http://${host}:${hp.port}/api/status`, { signal: AbortSignal.timeout(5_000) })
        .then(async (r) => (await r.json()) as { apiTokenFile?: unknown })
        .catch(() => undefined);
      if (typeof st?.apiTokenFile === 'string') file = st.apiTokenFile;
    }
    file ??= join(homedir(), '.p2psip', o.overlay, API_TOKEN_FILE);
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new ConfigError(`cannot read the API token ${file} (${(e as Error).message}); give --data-dir or --token`);
    }
  }
  let res: Response;
  try {
    res = await fetch(`http://${host}:${hp.port}${path}`, {
      method,
      headers: { ...headers, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new P2psipError('UNREACHABLE', `no p2psip peer answers at http://${host}:${hp.port} (${(err as Error).message}); is it running? (--http)`);
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: res.status, body };
}

function report(r: { status: number; body: Record<string, unknown> }, what: string): void {
  if (r.status === 200) {
    process.stdout.write(`${what}: ${String(r.body['aor'] ?? r.body['user'])} (version ${String(r.body['version'])})\n`);
    return;
  }
  process.exitCode = 1;
  process.stderr.write(`p2psip user: ${what} refused (${r.status}): ${String(r.body['error'] ?? JSON.stringify(r.body))}\n`);
}

export function registerUserCommand(p: Command): void {
  const user = p.command('user').description("the users of a closed overlay (their passwords' hashes live with the overlay's storing peers)");
  const common = (c: Command): Command =>
    c
      .option('--http <host:port>', 'the local peer API address', '127.0.0.1:8060')
      .option('--overlay <name>', 'overlay name (locates the default data directory)', 'p2psip.local')
      .option('--data-dir <dir>', "the peer's data directory (its api-token file); default: where the running peer says it keeps it")
      .option('--token <token>', 'the API token (default: read from the data directory)');
  common(user.command('add <name>').description('create a user (first claim wins)'))
    .option('--password <password>', 'the password (visible to other local users in the process list: prefer the prompt or --password-stdin)')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .action(async (name: string, o: UserCommandOptions) => {
      const pw = o.password ?? (o.passwordStdin ? (await stdinLines(1))[0] : await prompt(`password for ${name}: `));
      if (pw === undefined || pw === '') throw new ConfigError('an empty password');
      report(await call(o, `/api/users/add?user=${encodeURIComponent(name)}`, { [PASSWORD_HEADER]: b64(pw) }, 'POST'), 'user added');
    });
  common(user.command('passwd <name>').description("change a user's password, proven with the current one"))
    .option('--current <password>', 'the current password')
    .option('--password <password>', 'the new password')
    .option('--password-stdin', 'read the current, then the new password from the first two lines of stdin')
    .option('--force', "no current password: allowed only on the peer that wrote the user's record last (the owner's override)")
    .action(async (name: string, o: UserCommandOptions) => {
      let current = o.current;
      let pw = o.password;
      if (o.passwordStdin) [current, pw] = o.force ? [undefined, (await stdinLines(1))[0]] : await stdinLines(2);
      if (!o.force && current === undefined) current = await prompt(`current password for ${name}: `);
      if (pw === undefined) pw = await prompt(`new password for ${name}: `);
      if (pw === undefined || pw === '') throw new ConfigError('an empty password');
      const headers: Record<string, string> = { [PASSWORD_HEADER]: b64(pw), ...(current === undefined || o.force ? {} : { [CURRENT_PASSWORD_HEADER]: b64(current) }) };
      report(await call(o, `/api/users/passwd?user=${encodeURIComponent(name)}`, headers, 'POST'), 'password changed');
    });
  common(user.command('remove <name>').description('remove a user, proven with the current password'))
    .option('--current <password>', 'the current password')
    .option('--password-stdin', 'read the current password from the first line of stdin')
    .option('--force', "no password: allowed only on the peer that wrote the user's record last (the owner's override)")
    .action(async (name: string, o: UserCommandOptions) => {
      let current = o.current;
      if (o.passwordStdin && !o.force) current = (await stdinLines(1))[0];
      if (!o.force && current === undefined) current = await prompt(`current password for ${name}: `);
      const headers: Record<string, string> = current === undefined || o.force ? {} : { [CURRENT_PASSWORD_HEADER]: b64(current) };
      report(await call(o, `/api/users/remove?user=${encodeURIComponent(name)}`, headers, 'POST'), 'user removed');
    });
  common(user.command('list').description('the users this peer created or changed (the directory itself is private: not enumerable)'))
    .option('--json', 'print the raw JSON')
    .action(async (o: UserCommandOptions & { json?: boolean }) => {
      const r = await call(o, '/api/users', {}, 'GET');
      if (r.status !== 200) {
        process.exitCode = 1;
        process.stderr.write(`p2psip user list: ${r.status}: ${String(r.body['error'])}\n`);
        return;
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r.body, null, 2)}\n`);
        return;
      }
      const users = (r.body['users'] as Array<{ user: string; version: number; created: number; removed?: boolean }>) ?? [];
      process.stdout.write(`users created or changed on this peer (realm ${String(r.body['realm'])}; the directory itself is not enumerable):\n`);
      for (const u of users) process.stdout.write(`  ${u.user}@${String(r.body['realm'])}  version ${u.version}${u.removed ? '  (removed)' : ''}  created ${new Date(u.created).toISOString()}\n`);
    });
}
