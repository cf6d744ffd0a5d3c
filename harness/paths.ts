/** Paths of the repository that the harness, the interop tests and the benchmarks use. */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (this file is harness/paths.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
/** SIPp scenario XMLs. */
export const SCENARIOS_DIR = join(REPO_ROOT, 'harness', 'scenarios');
/** The built p2psip CLI (`npm run build`). */
export const P2PSIP_CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
/** The reference Kamailio configuration. */
export const KAMAILIO_CFG = join(REPO_ROOT, 'bench', 'kamailio', 'kamailio.cfg');

/** Path of a scenario file by name (e.g. 'uac.xml'). */
export function scenario(name: string): string {
  return join(SCENARIOS_DIR, name);
}
