/**
 * How the tests run the `p2psip` command line as a child process: the built `dist/src/cli/main.js`
 * when the build is at least as new as every file under `src/`, else `src/cli/main.ts` through tsx.
 * A start through tsx costs about 1.6 s more CPU than one from the build (tsx's loader hooks compile
 * and resolve every module in a worker thread; measured 2.2–2.9 s against 0.9 s for a stand-alone
 * peer), and the tests start a few hundred. `npm test` builds first; a test run by hand after an
 * edit without a build falls back to the sources, so it never runs stale code.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { P2PSIP_CLI as BUILT, REPO_ROOT } from '../../../harness/paths.js';

const SOURCE = join(REPO_ROOT, 'src', 'cli', 'main.ts');

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtimeMs(p) : statSync(p).mtimeMs);
  }
  return newest;
}

let chosen: readonly string[] | undefined;

/** Node arguments before the command line's own (e.g. `[...cliEntry(), 'up', '--sip', …]`). */
export function cliEntry(): readonly string[] {
  if (chosen !== undefined) return chosen;
  let built = -1;
  try {
    built = statSync(BUILT).mtimeMs;
  } catch {
    // not built
  }
  chosen = built >= newestMtimeMs(join(REPO_ROOT, 'src')) ? [BUILT] : ['--import', 'tsx', SOURCE];
  return chosen;
}
