/**
 * The office of issue 15 in network namespaces: boxes on one bridged LAN segment (the NAT lab's public
 * segment, a documentation /24, nothing routed out), each running `p2psip up` with only its data
 * directory (every other setting is the embedded default: overlay port 6084, SIP 5060, API on the
 * namespace's own 127.0.0.1:8060), its data directory kept across restarts; the API read with curl
 * inside the namespace; SIPp phones next to the boxes, with digest credentials.
 */
import { join } from 'node:path';
import type { BoundedProcess } from '../../../harness/bounded-process.js';
import type { LabHost, NatLab } from '../../../harness/nat-lab/index.js';
import { P2PSIP_CLI, REPO_ROOT } from '../../../harness/paths.js';
import { ringMismatches } from '../../integration/helpers/ring.js';

export const OFFICE_SIP_PORT = 5060;
export const OFFICE_OVERLAY_PORT = 6084;
const API = 'http://127.0.0.1:8060';

export interface OfficeBox {
  readonly host: LabHost;
  readonly dataDir: string;
  proc: BoundedProcess | undefined;
}

export interface BoxStatus {
  readonly nodeId?: string;
  readonly state?: string;
  readonly successors?: readonly string[];
  readonly predecessors?: readonly string[];
  readonly [k: string]: unknown;
}

/** Starts `p2psip up --data-dir <its dir>` (and `extra`) in the box's namespace; resolves once it says it is up. */
export async function startBox(box: OfficeBox, extra: readonly string[] = [], startTimeoutMs = 30_000): Promise<void> {
  const proc = box.host.spawn({
    command: process.execPath,
    args: [P2PSIP_CLI, 'up', '--data-dir', box.dataDir, ...extra],
    cwd: REPO_ROOT,
    lifetimeMs: 900_000,
    name: `p2psip@${box.host.name}`,
    maxLines: 20_000,
  });
  box.proc = proc;
  await proc.waitForLine(/^p2psip: SIP front listening/, { timeoutMs: startTimeoutMs }).catch((err: unknown) => {
    throw new Error(`${box.host.name} did not come up: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n${proc.tail(60)}`);
  });
}

/** kill -9 of the box's whole process group (the peer included), waiting for the exit. */
export async function killBox(box: OfficeBox): Promise<void> {
  const p = box.proc;
  if (p === undefined) return;
  p.signal('SIGKILL');
  await p.exited;
  box.proc = undefined;
}

export async function stopBox(box: OfficeBox): Promise<void> {
  const p = box.proc;
  if (p === undefined) return;
  await p.stop('SIGTERM', 8000);
  box.proc = undefined;
}

/** GET on the box's API from inside its namespace (curl); parsed JSON. */
export async function boxApi(box: OfficeBox, path: string): Promise<unknown> {
  const out = await box.host.run('curl', ['-sS', '--max-time', '10', `${API}${path}`]);
  return JSON.parse(out) as unknown;
}

export async function boxStatus(box: OfficeBox): Promise<BoxStatus> {
  return (await boxApi(box, '/api/status')) as BoxStatus;
}

/** What keeps these boxes from being one ring (empty when they are): state, first successor and predecessor. */
export async function ringProblems(boxes: readonly OfficeBox[]): Promise<string[]> {
  const st = await Promise.all(boxes.map((b) => boxStatus(b).catch((e: unknown) => ({ error: String(e) }) as BoxStatus)));
  const missing = st.flatMap((s, i) => (s.nodeId === undefined ? [`${boxes[i]!.host.name}: no status (${String(s['error'])})`] : []));
  if (missing.length > 0) return missing;
  return ringMismatches(
    st.map((s) => s.nodeId!),
    st.map((s, i) => ({ label: `${boxes[i]!.host.name} ${s.nodeId!.slice(0, 6)}`, id: s.nodeId!, status: s })),
  );
}

/** Polls ringProblems until none (resolves with the ms it took) or `limitMs` (rejects with the last problems). */
export async function untilOneRing(boxes: readonly OfficeBox[], limitMs: number, since = Date.now()): Promise<number> {
  let last: string[] = [];
  while (Date.now() - since < limitMs) {
    last = await ringProblems(boxes);
    if (last.length === 0) return Date.now() - since;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`not one ring after ${limitMs} ms: ${last.join('; ')}`);
}

/** The boxes of a lab named box1…boxN (public hosts), with data directories under `root`. */
export function officeBoxes(lab: NatLab, names: readonly string[], root: string): OfficeBox[] {
  return names.map((n) => ({ host: lab.host(n), dataDir: join(root, n), proc: undefined }));
}
